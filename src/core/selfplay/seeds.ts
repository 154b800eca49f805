// The seed puzzles shipped with Crucible: a small, diverse set written for this project in the P3 layout.
// Self-play prompts show a few of them (or of a user's P3 file) as examples. A unit test checks that every
// reference solution here verifies and that every seed passes the validity filters.

import type { Puzzle } from '../types';
import { puzzleFromSource } from './puzzle';

interface SeedSource {
  module: string;
  name: string;
  sat: string;
  sol: string;
}

const SOURCES: SeedSource[] = [
  {
    module: 'strings',
    name: 'RepeatedWord',
    sat: `def sat(s: str, word="crucible", n=3):
    return s.count(word) == n and len(s) == len(word) * n + 2`,
    sol: `def sol(word="crucible", n=3):
    return "<" + word * n + ">"`,
  },
  {
    module: 'strings',
    name: 'RotatedAnagram',
    sat: `def sat(s: str, target="level up"):
    return sorted(s) == sorted(target) and s != target and s[0] == target[-1]`,
    sol: `def sol(target="level up"):
    rest = list(target)
    rest.remove(target[-1])
    return target[-1] + "".join(rest)`,
  },
  {
    module: 'strings',
    name: 'DistinctPalindrome',
    sat: `def sat(s: str, n=9):
    return len(s) == n and s == s[::-1] and len(set(s)) == (n + 1) // 2`,
    sol: `def sol(n=9):
    half = "abcdefghijklmnopqrstuvwxyz"[: (n + 1) // 2]
    return half + half[-2::-1]`,
  },
  {
    module: 'numbers',
    name: 'TwoRemainders',
    sat: `def sat(n: int, a=7, r=3, b=11, q=5, low=1000):
    return n > low and n % a == r and n % b == q`,
    sol: `def sol(a=7, r=3, b=11, q=5, low=1000):
    return next(k for k in range(low + 1, low + 1 + a * b) if k % a == r and k % b == q)`,
  },
  {
    module: 'numbers',
    name: 'IntegerRoot',
    sat: `def sat(x: int, a=3, b=-17, c=-28):
    return a * x * x + b * x + c == 0`,
    sol: `def sol(a=3, b=-17, c=-28):
    return next(x for x in range(-10000, 10001) if a * x * x + b * x + c == 0)`,
  },
  {
    module: 'numbers',
    name: 'DistinctPrimeFactors',
    sat: `def sat(factors: List[int], n=2310):
    product = 1
    for f in factors:
        product *= f
    prime = all(f > 1 and all(f % d for d in range(2, int(f ** 0.5) + 1)) for f in factors)
    return product == n and prime and len(set(factors)) == len(factors)`,
    sol: `def sol(n=2310):
    out, d = [], 2
    while n > 1:
        if n % d == 0:
            out.append(d)
            while n % d == 0:
                n //= d
        d += 1
    return out`,
  },
  {
    module: 'numbers',
    name: 'CubeRoot',
    sat: `def sat(x: float, y=2.0):
    return abs(x * x * x - y) < 1e-6`,
    sol: `def sol(y=2.0):
    return y ** (1 / 3)`,
  },
  {
    module: 'lists',
    name: 'DistinctSum',
    sat: `def sat(li: List[int], total=100, n=7):
    return len(li) == n and sum(li) == total and len(set(li)) == n and all(v > 0 for v in li)`,
    sol: `def sol(total=100, n=7):
    li = list(range(1, n))
    return li + [total - sum(li)]`,
  },
  {
    module: 'lists',
    name: 'WiggleSort',
    sat: `def sat(li: List[int], target=[3, 1, 4, 1, 5, 9, 2, 6]):
    ups = all(li[i] <= li[i + 1] for i in range(0, len(li) - 1, 2))
    downs = all(li[i] >= li[i + 1] for i in range(1, len(li) - 1, 2))
    return len(li) > 1 and sorted(li) == sorted(target) and ups and downs`,
    sol: `def sol(target=[3, 1, 4, 1, 5, 9, 2, 6]):
    li = sorted(target)
    for i in range(1, len(li) - 1, 2):
        li[i], li[i + 1] = li[i + 1], li[i]
    return li`,
  },
  {
    module: 'lists',
    name: 'PairSum',
    sat: `def sat(pair: List[int], nums=[4, -2, 7, 11, 0, 5], target=9):
    i, j = pair
    return i != j and nums[i] + nums[j] == target`,
    sol: `def sol(nums=[4, -2, 7, 11, 0, 5], target=9):
    seen = {}
    for j, v in enumerate(nums):
        if target - v in seen:
            return [seen[target - v], j]
        seen[v] = j`,
  },
  {
    module: 'lists',
    name: 'IncreasingSubsequence',
    sat: `def sat(sub: List[int], nums=[5, 1, 8, 3, 9, 4, 10, 2], k=4):
    rest = iter(nums)
    in_order = all(v in rest for v in sub)
    return len(sub) == k and in_order and all(a < b for a, b in zip(sub, sub[1:]))`,
    sol: `def sol(nums=[5, 1, 8, 3, 9, 4, 10, 2], k=4):
    best = [[v] for v in nums]
    for i in range(len(nums)):
        for j in range(i):
            if nums[j] < nums[i] and len(best[j]) + 1 > len(best[i]):
                best[i] = best[j] + [nums[i]]
    return max(best, key=len)[:k]`,
  },
  {
    module: 'graphs',
    name: 'PathOfLength',
    sat: `def sat(path: List[int], edges=[[0, 1], [1, 2], [2, 5], [0, 3], [3, 4], [4, 5], [1, 4]], start=0, end=5, length=3):
    steps = list(zip(path, path[1:]))
    return path[0] == start and path[-1] == end and len(steps) == length and all([a, b] in edges for a, b in steps)`,
    sol: `def sol(edges=[[0, 1], [1, 2], [2, 5], [0, 3], [3, 4], [4, 5], [1, 4]], start=0, end=5, length=3):
    paths = [[start]]
    for _ in range(length):
        paths = [p + [b] for p in paths for a, b in edges if a == p[-1]]
    return next(p for p in paths if p[-1] == end)`,
  },
  {
    module: 'graphs',
    name: 'ThreeColoring',
    sat: `def sat(colors: List[int], edges=[[0, 1], [1, 2], [2, 0], [2, 3], [3, 4], [4, 1]], k=3):
    nodes = 1 + max(max(e) for e in edges)
    return len(colors) == nodes and all(0 <= c < k for c in colors) and all(colors[a] != colors[b] for a, b in edges)`,
    sol: `def sol(edges=[[0, 1], [1, 2], [2, 0], [2, 3], [3, 4], [4, 1]], k=3):
    import itertools
    nodes = 1 + max(max(e) for e in edges)
    for colors in itertools.product(range(k), repeat=nodes):
        if all(colors[a] != colors[b] for a, b in edges):
            return list(colors)`,
  },
  {
    module: 'combinatorics',
    name: 'NonAttackingQueens',
    sat: `def sat(cols: List[int], n=6):
    rows = range(n)
    return sorted(cols) == list(rows) and len({cols[r] - r for r in rows}) == n and len({cols[r] + r for r in rows}) == n`,
    sol: `def sol(n=6):
    import itertools
    for cols in itertools.permutations(range(n)):
        if len({cols[r] - r for r in range(n)}) == n and len({cols[r] + r for r in range(n)}) == n:
            return list(cols)`,
  },
  {
    module: 'combinatorics',
    name: 'MagicSquare',
    sat: `def sat(square: List[List[int]], n=3):
    total = n * (n * n + 1) // 2
    cells = sorted(v for row in square for v in row)
    lines = square + [list(col) for col in zip(*square)]
    lines += [[square[i][i] for i in range(n)], [square[i][n - 1 - i] for i in range(n)]]
    return cells == list(range(1, n * n + 1)) and all(sum(line) == total for line in lines)`,
    sol: `def sol(n=3):
    square = [[0] * n for _ in range(n)]
    r, c = 0, n // 2
    for v in range(1, n * n + 1):
        square[r][c] = v
        nr, nc = (r - 1) % n, (c + 1) % n
        if square[nr][nc]:
            nr, nc = (r + 1) % n, c
        r, c = nr, nc
    return square`,
  },
  {
    module: 'combinatorics',
    name: 'SubsetSum',
    sat: `def sat(picked: List[int], nums=[13, 27, 8, 41, 19, 6, 33], target=60):
    ok = len(set(picked)) == len(picked) and all(0 <= i < len(nums) for i in picked)
    return ok and sum(nums[i] for i in picked) == target`,
    sol: `def sol(nums=[13, 27, 8, 41, 19, 6, 33], target=60):
    import itertools
    for r in range(1, len(nums) + 1):
        for combo in itertools.combinations(range(len(nums)), r):
            if sum(nums[i] for i in combo) == target:
                return list(combo)`,
  },
];

/** The shipped seed set as Puzzles, named `<Name>:0` like P3's train split. */
export function shippedSeeds(): Puzzle[] {
  return SOURCES.map((s) => puzzleFromSource(`${s.name}:0`, s.sat, s.sol, s.module));
}
