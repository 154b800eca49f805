// Crucible dataset view (webview). Receives statistics from the extension and draws them with chart.js.
// Loaded with a CSP nonce; no inline handlers, no eval.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const charts = {};
  const $ = (id) => document.getElementById(id);

  function cssVar(name, fallback) {
    const value = getComputedStyle(document.body).getPropertyValue(name).trim();
    return value || fallback;
  }

  function palette() {
    return {
      green: cssVar('--vscode-charts-green', '#89d185'),
      red: cssVar('--vscode-charts-red', '#f14c4c'),
      blue: cssVar('--vscode-charts-blue', '#3794ff'),
      yellow: cssVar('--vscode-charts-yellow', '#cca700'),
      orange: cssVar('--vscode-charts-orange', '#d18616'),
      purple: cssVar('--vscode-charts-purple', '#b180d7'),
      text: cssVar('--vscode-foreground', '#cccccc'),
      grid: cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.3)'),
    };
  }

  function sortedKeys(count) {
    return Object.keys(count).sort((a, b) => {
      if (a === 'unknown') return 1;
      if (b === 'unknown') return -1;
      const na = Number(a),
        nb = Number(b);
      return Number.isNaN(na) || Number.isNaN(nb) ? a.localeCompare(b) : na - nb;
    });
  }

  function pct(x) {
    return (x * 100).toFixed(1) + '%';
  }

  function text(tag, content, className) {
    const el = document.createElement(tag);
    el.textContent = content;
    if (className) el.className = className;
    return el;
  }

  function renderCounts(s) {
    const box = $('counts');
    box.replaceChildren();
    const items = [
      ['Records', s.records],
      ['Verified', s.verified],
      ['Unverified', s.unverified],
      ['Generated tests only', s.verifiedByGeneratedTests],
      ['Tasks', s.tasks],
      ['Tasks verified', s.verifiedTasks],
      ['pass@1 first attempt', pct(s.passAt1.before)],
      ['pass@1 after refinement', pct(s.passAt1.after)],
      ['Solutions per task', s.meanSolutionsPerTask.toFixed(2)],
      ['Completion tokens', s.tokens.completion.toLocaleString()],
    ];
    for (const [label, value] of items) {
      const card = document.createElement('div');
      card.className = 'card';
      card.append(text('div', String(value), 'value'), text('div', label, 'label'));
      box.append(card);
    }
  }

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    const canvas = $(id);
    charts[id] = new Chart(canvas, config);
  }

  function barConfig(labels, datasets, p, options) {
    const stacked = !!(options && options.stacked);
    return {
      type: 'bar',
      data: { labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: datasets.length > 1, labels: { color: p.text } } },
        scales: {
          x: {
            stacked,
            ticks: { color: p.text },
            grid: { color: p.grid },
            title: options && options.x ? { display: true, text: options.x, color: p.text } : undefined,
          },
          y: {
            stacked,
            beginAtZero: true,
            max: options && options.max,
            ticks: { color: p.text, precision: 0, callback: options && options.percent ? (v) => v + '%' : undefined },
            grid: { color: p.grid },
          },
        },
      },
    };
  }

  function renderCharts(s) {
    const p = palette();
    Chart.defaults.color = p.text;
    Chart.defaults.font.family = cssVar('--vscode-font-family', 'sans-serif');

    draw(
      'overTime',
      barConfig(
        s.overTime.map((d) => d.day),
        [
          { label: 'verified', data: s.overTime.map((d) => d.verified), backgroundColor: p.green },
          { label: 'unverified', data: s.overTime.map((d) => d.unverified), backgroundColor: p.red },
        ],
        p,
        { stacked: true },
      ),
    );

    const origins = sortedKeys(s.verifiedByTestsOrigin);
    const originColors = { user: p.green, generated: p.yellow, puzzle: p.purple, none: p.blue, unknown: p.grid };
    draw('verified', {
      type: 'doughnut',
      data: {
        labels: [
          ...origins.map(
            (o) => 'verified · ' + o + (o === 'generated' ? ' tests only' : o === 'puzzle' ? ' (self-play)' : ' tests'),
          ),
          'unverified',
        ],
        datasets: [
          {
            data: [...origins.map((o) => s.verifiedByTestsOrigin[o]), s.unverified],
            backgroundColor: [...origins.map((o) => originColors[o] || p.blue), p.red],
            borderWidth: 0,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { position: 'right', labels: { color: p.text } } },
      },
    });

    draw(
      'passAt1',
      barConfig(
        ['first attempt', 'after refinement'],
        [
          {
            label: 'pass@1',
            data: [s.passAt1.before * 100, s.passAt1.after * 100],
            backgroundColor: [p.blue, p.green],
          },
        ],
        p,
        { max: 100, percent: true },
      ),
    );

    const attempts = sortedKeys(s.attemptsToFix);
    draw(
      'attempts',
      barConfig(
        attempts,
        [{ label: 'records', data: attempts.map((k) => s.attemptsToFix[k]), backgroundColor: p.blue }],
        p,
        { x: 'attempts until verified' },
      ),
    );

    const rounds = sortedKeys(s.roundsToFix);
    draw(
      'rounds',
      barConfig(
        rounds,
        [{ label: 'records', data: rounds.map((k) => s.roundsToFix[k]), backgroundColor: p.orange }],
        p,
        { x: 'refine round (0 = first samples)' },
      ),
    );

    const bins = ['0.0', '0.1', '0.2', '0.3', '0.4', '0.5', '0.6', '0.7', '0.8', '0.9'];
    if (s.difficulty.unknown) bins.push('unknown');
    draw(
      'difficulty',
      barConfig(
        bins,
        [{ label: 'records', data: bins.map((k) => s.difficulty[k] || 0), backgroundColor: p.purple }],
        p,
        { x: 'difficulty (0 easy … 1 hard)' },
      ),
    );

    const languages = Object.keys(s.tasksByLanguage).sort();
    draw(
      'languages',
      barConfig(
        languages,
        [{ label: 'tasks', data: languages.map((k) => s.tasksByLanguage[k]), backgroundColor: p.blue }],
        p,
      ),
    );

    const diversity = sortedKeys(s.solutionsPerTask);
    draw(
      'diversity',
      barConfig(
        diversity,
        [{ label: 'tasks', data: diversity.map((k) => s.solutionsPerTask[k]), backgroundColor: p.green }],
        p,
        { x: 'distinct verified solutions' },
      ),
    );
  }

  function renderProblems(problems) {
    const box = $('problems');
    box.replaceChildren();
    box.hidden = problems.length === 0;
    if (!problems.length) return;
    box.append(text('h2', problems.length + ' line(s) of records.jsonl skipped'));
    const list = document.createElement('ul');
    for (const p of problems.slice(0, 50)) list.append(text('li', 'line ' + p.line + ': ' + p.reason));
    box.append(list);
  }

  function showMessage(message) {
    const el = $('message');
    el.textContent = message || '';
    el.hidden = !message;
  }

  function renderRecords(rows, total) {
    const box = $('records');
    box.replaceChildren();
    box.hidden = false;
    box.append(
      text(
        'h2',
        'Records' + (total > rows.length ? ' (newest ' + rows.length + ' of ' + total + ')' : ' (' + rows.length + ')'),
      ),
    );
    if (!rows.length) {
      box.append(text('p', 'No records.', 'folder'));
      return;
    }
    const table = document.createElement('table');
    const head = document.createElement('tr');
    for (const h of ['When', 'Task', 'Language', 'Verdict', 'Attempts', 'Model', '']) head.append(text('th', h));
    table.append(head);
    for (const r of rows) {
      const tr = document.createElement('tr');
      tr.dataset.id = r.id;
      const when = r.createdAt ? new Date(r.createdAt).toLocaleString() : '';
      const verdict = r.verified ? (r.generatedTests ? 'verified (generated tests)' : 'verified') : 'not verified';
      tr.append(
        text('td', when),
        text('td', r.name, 'task'),
        text('td', r.language),
        text('td', verdict, r.verified ? 'ok' : 'bad'),
        text('td', String(r.attempts)),
        text('td', r.model),
      );
      const cell = document.createElement('td');
      const del = text('button', 'Delete', 'secondary');
      del.type = 'button';
      del.title = 'Delete this record from the dataset';
      del.addEventListener('click', () => vscode.postMessage({ type: 'delete', id: r.id, name: r.name }));
      cell.append(del);
      tr.append(cell);
      table.append(tr);
    }
    box.append(table);
  }

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'records') {
      renderRecords(msg.rows || [], msg.total || 0);
      return;
    }
    $('folder').textContent = msg.folder ? 'Folder: ' + msg.folder : '';
    if (msg.type === 'empty') {
      $('counts').replaceChildren();
      $('charts').hidden = true;
      renderProblems([]);
      showMessage(msg.message);
      return;
    }
    if (msg.type !== 'stats') return;
    const s = msg.stats;
    renderCounts(s);
    renderProblems(s.problems || []);
    if (typeof Chart === 'undefined') {
      $('charts').hidden = true;
      showMessage(
        'The charting library (dist/media/chart.umd.min.js) is missing; run the build. Counts are shown above.',
      );
      return;
    }
    showMessage(s.records === 0 ? 'No records yet: solve something with dataset logging on.' : '');
    $('charts').hidden = s.records === 0;
    if (s.records > 0) renderCharts(s);
  });

  $('refresh').addEventListener('click', () => vscode.postMessage({ type: 'refresh' }));
  $('export').addEventListener('click', () => vscode.postMessage({ type: 'export' }));
  $('settings').addEventListener('click', () => vscode.postMessage({ type: 'settings' }));
  vscode.postMessage({ type: 'ready' });
})();
