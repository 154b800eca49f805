// Drives the VS Code workbench in Chromium the way a person does: the command palette (F1), Quick Open,
// clicks on notifications, code lenses, the light bulb menu and the diff editor's title bar, the keyboard
// for everything else. Every wait has a timeout and fails with what was on screen instead.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { chromiumBin } from './paths';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface Toast {
  locator: Locator;
  message: string;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class Workbench {
  private browser: Browser | undefined;
  page!: Page;
  private shotDir = '';
  private shotIndex = 0;
  readonly consoleErrors: string[] = [];

  static async launch(): Promise<Workbench> {
    const wb = new Workbench();
    wb.browser = await chromium.launch({ executablePath: chromiumBin(), args: CHROMIUM_ARGS, headless: true });
    const context = await wb.browser.newContext({ viewport: { width: 1400, height: 900 } });
    wb.page = await context.newPage();
    wb.page.on('console', (m) => {
      if (m.type() === 'error') wb.consoleErrors.push(m.text());
    });
    return wb;
  }

  /** Opens the workspace and waits until the workbench and its explorer are up. */
  async open(url: string): Promise<void> {
    // A loaded machine can take well over 30 s to serve the workbench.
    await this.page.goto(url, { timeout: 120_000 });
    await this.page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 90_000 });
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
  }

  async close(): Promise<void> {
    await this.browser?.close();
    this.browser = undefined;
  }

  /** Screenshots of the next steps go to `dir` (one folder per test). */
  setShotDir(dir: string): void {
    this.shotDir = dir;
    this.shotIndex = 0;
  }

  async shot(step: string): Promise<string | undefined> {
    if (!this.shotDir) return undefined;
    mkdirSync(this.shotDir, { recursive: true });
    const file = join(
      this.shotDir,
      `${String(++this.shotIndex).padStart(2, '0')}-${step.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`,
    );
    await this.page.screenshot({ path: file }).catch(() => undefined);
    return file;
  }

  // ---- command palette -------------------------------------------------------------------------

  private get quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  private async paletteRows(): Promise<string[]> {
    return this.quickInput.locator('.monaco-list-row .label-name').allInnerTexts();
  }

  /** Opens the command palette and types `label`; returns the matching rows' labels. */
  private async typeInPalette(label: string): Promise<void> {
    const input = this.quickInput.locator('input.input');
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('Escape');
      await this.page.keyboard.press('F1');
      try {
        await input.waitFor({ state: 'visible', timeout: 5000 });
        await input.fill(`>${label}`, { timeout: 3000 });
        break;
      } catch (err) {
        // Focus moved while the palette opened (a notification or widget took it); open it again.
        if (attempt >= 3) throw err;
        await this.page.waitForTimeout(500);
      }
    }
    // Let the list settle on the filtered result.
    await this.page.waitForTimeout(300);
  }

  /** Runs a command by its palette label, e.g. "Crucible: Solve and Verify". Fails if the palette lacks it. */
  async runCommand(label: string, timeoutMs = 10_000): Promise<void> {
    await this.typeInPalette(label);
    const deadline = Date.now() + timeoutMs;
    let rows: string[];
    for (;;) {
      rows = await this.paletteRows();
      const index = rows.findIndex((r) => r.trim() === label);
      if (index >= 0) {
        await this.quickInput.locator('.monaco-list-row').nth(index).click();
        await this.quickInput.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
        return;
      }
      if (Date.now() > deadline) break;
      await this.page.waitForTimeout(250);
    }
    await this.shot(`palette-missing-${label}`);
    await this.page.keyboard.press('Escape');
    throw new Error(
      `The command palette has no "${label}". It offered: ${rows.length ? rows.map((r) => `"${r}"`).join(', ') : 'nothing'}`,
    );
  }

  /** Whether the palette lists `label` right now (commands hidden by a `when` clause are not listed). */
  async paletteHas(label: string): Promise<boolean> {
    await this.typeInPalette(label);
    const rows = await this.paletteRows();
    await this.page.keyboard.press('Escape');
    return rows.some((r) => r.trim() === label);
  }

  /** Waits for a quick pick (or input box) opened by a command; returns its row labels. */
  async quickPickRows(timeoutMs = 15_000): Promise<string[]> {
    await this.quickInput.waitFor({ state: 'visible', timeout: timeoutMs });
    await this.page.waitForTimeout(300);
    return this.paletteRows();
  }

  /** Picks the row of an open quick pick whose label contains `text`. */
  async pick(text: string | RegExp, timeoutMs = 15_000): Promise<void> {
    await this.quickInput.waitFor({ state: 'visible', timeout: timeoutMs });
    const want = typeof text === 'string' ? new RegExp(escapeRegExp(text)) : text;
    const row = this.quickInput
      .locator('.monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: want }) })
      .first();
    try {
      await row.waitFor({ state: 'visible', timeout: timeoutMs });
    } catch {
      const rows = await this.paletteRows();
      throw new Error(
        `The quick pick has no row matching ${want}. It offered: ${rows.map((r) => `"${r}"`).join(', ') || 'nothing'}`,
      );
    }
    await row.click();
  }

  /** Types into the open quick input (an input box or a quick pick filter) and presses Enter. */
  async answerInput(text: string, timeoutMs = 15_000): Promise<void> {
    const input = this.quickInput.locator('input.input');
    await input.waitFor({ state: 'visible', timeout: timeoutMs });
    await input.fill(text);
    await this.page.waitForTimeout(200);
    await this.page.keyboard.press('Enter');
  }

  async quickInputVisible(): Promise<boolean> {
    return this.quickInput.isVisible();
  }

  // ---- files and the editor --------------------------------------------------------------------

  /** Opens a workspace file through Quick Open (Ctrl+P) and waits for its tab. */
  async openFile(name: string): Promise<void> {
    const input = this.quickInput.locator('input.input');
    const exact = new RegExp(`^${escapeRegExp(name)}$`);
    const row = this.quickInput
      .locator('.monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: exact }) })
      .first();
    // A file written a moment ago may not be in Quick Open's results yet: ask again until it is.
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('Escape');
      await this.page.keyboard.press('Control+P');
      try {
        await input.waitFor({ state: 'visible', timeout: 5000 });
        await input.fill(name, { timeout: 3000 });
        await row.waitFor({ state: 'visible', timeout: 3000 });
        break;
      } catch (err) {
        if (attempt >= 12)
          throw new Error(`Quick Open does not find ${name}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
        await this.page.waitForTimeout(500);
      }
    }
    // Click the row itself: Enter could open whichever row the still-updating list has selected.
    await row.click();
    await this.activeTab(name).waitFor({ timeout: 15_000 });
    await this.editor.locator('.view-line').first().waitFor({ timeout: 15_000 });
  }

  activeTab(name: string): Locator {
    return this.page.locator('.tabs-container .tab.active', { hasText: name });
  }

  /** The active text editor (the modified side of a diff editor when a diff is active). */
  get editor(): Locator {
    return this.page.locator('.editor-group-container.active .editor-instance .monaco-editor:visible').last();
  }

  /** Clicks at the end of the first visible editor line containing `text`, which puts the cursor there. */
  async clickLine(text: string): Promise<void> {
    const line = this.editor.locator('.view-line', { hasText: text }).first();
    await line.waitFor({ timeout: 10_000 });
    let box = await line.boundingBox();
    for (let i = 0; !box && i < 40; i++) {
      // The editor is still laying out (just opened); try again shortly.
      await this.page.waitForTimeout(250);
      box = await line.boundingBox();
    }
    if (!box) throw new Error(`line "${text}" is not on screen`);
    const spans = line.locator('span > span');
    const last = spans.last();
    const lastBox = await last.boundingBox();
    const x = lastBox ? lastBox.x + lastBox.width - 2 : box.x + 40;
    await this.page.mouse.click(x, box.y + box.height / 2);
  }

  /** The visible text of the active editor (fine for files that fit on screen). */
  async visibleText(): Promise<string> {
    const lines = await this.editor.locator('.view-lines .view-line').evaluateAll((els) =>
      els
        .map((e) => ({
          top: parseFloat((e as HTMLElement).style.top || '0'),
          text: (e.textContent ?? '').replace(/\u00a0/g, ' '),
        }))
        .sort((a, b) => a.top - b.top)
        .map((l) => l.text),
    );
    return lines.join('\n');
  }

  async save(): Promise<void> {
    await this.page.keyboard.press('Control+S');
    await this.page.waitForTimeout(300);
  }

  /**
   * Saves the file `name` once its own editor has the focus. Right after Apply, the result diff may still be
   * closing and hold the keyboard focus: Ctrl+S there opens "Save As" for the proposal instead of saving the file.
   */
  async saveFile(name: string): Promise<void> {
    await this.page
      .locator('.editor-group-container.active .monaco-diff-editor')
      .first()
      .waitFor({ state: 'hidden', timeout: 10_000 });
    await this.activeTab(name).waitFor({ timeout: 10_000 });
    await this.editor.locator('.view-lines').first().click();
    await this.save();
  }

  /** The text of a modal dialog on screen (e.g. "Command ... resulted in an error"), if any. */
  async dialogText(): Promise<string | undefined> {
    const box = this.page.locator('.monaco-dialog-box');
    if (!(await box.isVisible().catch(() => false))) return undefined;
    return (await box.innerText()).replace(/\s+/g, ' ').trim();
  }

  /** Closes modal dialogs: "Don't Save" where offered, else the dialog's first button. */
  async dismissDialogs(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      if ((await this.dialogText()) === undefined) return;
      const dontSave = this.page.locator('.monaco-dialog-box .monaco-button', { hasText: /Don't Save/ });
      if (await dontSave.isVisible().catch(() => false)) await dontSave.click();
      else
        await this.page
          .locator('.monaco-dialog-box .dialog-buttons .monaco-button')
          .first()
          .click()
          .catch(() => undefined);
      await this.page.waitForTimeout(200);
    }
  }

  /** Closes every editor, answering "Don't Save" for unsaved ones. */
  async closeAllEditors(): Promise<void> {
    await this.dismissDialogs();
    await this.runCommand('View: Close All Editors').catch(() => undefined);
    await this.page.waitForTimeout(200);
    await this.dismissDialogs();
  }

  /** Opens the light bulb menu (Ctrl+.) and runs the action whose label matches `pattern`, by keyboard. */
  async runCodeAction(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    const menu = this.page.locator('.action-widget');
    // Right after a file opens, the first request can come back empty ("No code actions available") while
    // the file is still being parsed; a person presses Ctrl+. again.
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('Control+.');
      try {
        await menu.waitFor({ timeout: attempt < 4 ? 5000 : timeoutMs });
        break;
      } catch (err) {
        if (attempt >= 4) throw err;
        await this.page.keyboard.press('Escape');
        await this.page.waitForTimeout(1000);
      }
    }
    const rows = menu.locator('.monaco-list-row.action');
    const deadline = Date.now() + timeoutMs;
    let labels: string[] = [];
    let target = -1;
    while (target < 0 && Date.now() < deadline) {
      labels = (
        await rows.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? (e as HTMLElement).innerText))
      ).map((l) => l.trim());
      target = labels.findIndex((l) => pattern.test(l));
      if (target < 0) await this.page.waitForTimeout(250);
    }
    if (target < 0) {
      await this.page.keyboard.press('Escape');
      throw new Error(
        `The light bulb menu has no action matching ${pattern}; it offers: ${labels.map((l) => `"${l}"`).join(', ') || 'nothing'}`,
      );
    }
    await this.shot('code-actions');
    // The menu blocks the pointer while it opens; a person's keyboard works: move the focus, then Enter.
    const focused = Math.max(0, await rows.evaluateAll((els) => els.findIndex((e) => e.classList.contains('focused'))));
    const key = target >= focused ? 'ArrowDown' : 'ArrowUp';
    for (let i = 0; i < Math.abs(target - focused); i++) await this.page.keyboard.press(key);
    await this.page.keyboard.press('Enter');
    await menu.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
  }

  // ---- notifications ---------------------------------------------------------------------------

  private toasts(): Locator {
    return this.page.locator('.notifications-toasts .notification-toast-container');
  }

  /** Waits for a notification toast whose message matches `pattern`. Fails at once if a command error dialog shows. */
  async notification(pattern: RegExp, timeoutMs = 30_000): Promise<Toast> {
    const toast = this.toasts()
      .filter({ has: this.page.locator('.notification-list-item-message', { hasText: pattern }) })
      .first();
    const deadline = Date.now() + timeoutMs;
    let dialog: string | undefined;
    for (;;) {
      if (await toast.isVisible().catch(() => false)) break;
      dialog = await this.dialogText();
      if ((dialog && /resulted in an error|not found/i.test(dialog)) || Date.now() > deadline) {
        const seen = await this.toastMessages();
        await this.shot('notification-missing');
        throw new Error(
          `No notification matching ${pattern} within ${timeoutMs} ms. Showing: ${seen.length ? seen.map((t) => `"${t}"`).join(', ') : 'none'}` +
            (dialog ? `; a dialog says: "${dialog}"` : ''),
        );
      }
      await this.page.waitForTimeout(200);
    }
    const message = (await toast.locator('.notification-list-item-message').innerText()).trim();
    return { locator: toast, message };
  }

  async toastMessages(): Promise<string[]> {
    return (await this.toasts().locator('.notification-list-item-message').allInnerTexts()).map((t) => t.trim());
  }

  async toastButtons(toast: Toast): Promise<string[]> {
    return (
      await toast.locator.locator('.notification-list-item-buttons-container .monaco-button').allInnerTexts()
    ).map((t) => t.trim());
  }

  async clickToastButton(toast: Toast, label: string): Promise<void> {
    const button = toast.locator
      .locator('.notification-list-item-buttons-container .monaco-button', { hasText: label })
      .first();
    try {
      await button.waitFor({ state: 'visible', timeout: 5000 });
    } catch {
      throw new Error(
        `The notification "${toast.message}" has no "${label}" button; it has: ${(await this.toastButtons(toast)).join(', ') || 'none'}`,
      );
    }
    await button.click();
  }

  async clearNotifications(): Promise<void> {
    await this.runCommand('Notifications: Clear All Notifications').catch(() => undefined);
  }

  /** Text of the status bar, for transient messages like "Crucible: cancelled". */
  async statusBarText(): Promise<string> {
    return (await this.page.locator('.part.statusbar').innerText()).replace(/\s+/g, ' ');
  }
}
