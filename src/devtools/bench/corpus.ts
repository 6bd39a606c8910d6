/**
 * Deterministic mixed text for benchmarks: prose with invented words (so a piece cache cannot make every word a
 * hit), source code, numbers, several scripts and emoji.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'tra',
  'pen',
  'sul',
  'ver',
  'qui',
  'dor',
  'an',
  'el',
  'os',
  'ith',
  'un',
  'bre',
  'sta',
];
const COMMON = [
  'the',
  'of',
  'and',
  'to',
  'in',
  'is',
  'that',
  'for',
  'it',
  'with',
  'as',
  'was',
  'on',
  'image',
  'model',
];
const SCRIPTS = [
  'Привет мир',
  'こんにちは世界',
  '你好，世界',
  '안녕하세요',
  'مرحبا بالعالم',
  'Ünïcödé façade',
  '🚀🎉 ok 👩‍👩‍👧',
];
const CODE = [
  'function add(a, b) {\n  return a + b;\n}\n',
  'for (let i = 0; i < n; i++) total += values[i] * 2;\n',
  'def f(x):\n    return x ** 2  # square\n',
  '<div class="row"><span>{{ item.name }}</span></div>\n',
];

export function mixedText(targetBytes: number, seed = 42): string {
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const parts: string[] = [];
  let bytes = 0;
  while (bytes < targetBytes) {
    const r = random();
    let part: string;
    if (r < 0.6) {
      const words: string[] = [];
      const n = 8 + Math.floor(random() * 20);
      for (let i = 0; i < n; i++) {
        if (random() < 0.5) words.push(pick(COMMON));
        else words.push(Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(SYLLABLES)).join(''));
      }
      part = words.join(' ') + (random() < 0.3 ? '.\n' : ', ');
    } else if (r < 0.8) part = pick(CODE);
    else if (r < 0.9) part = `${Math.floor(random() * 1e6)} ${(random() * 100).toFixed(3)} `;
    else part = pick(SCRIPTS) + ' ';
    parts.push(part);
    bytes += Buffer.byteLength(part);
  }
  return parts.join('');
}
