/**
 * Debian's chromium driven by playwright-core (no browser download): where it is, how it is launched, and where
 * the tests leave their screenshots.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const CANDIDATES = [process.env.PIXTRAL_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(): string {
  const found = CANDIDATES.find((path): path is string => !!path && existsSync(path));
  if (!found)
    throw new Error(
      'the browser tests need Chromium: apt-get install chromium (or set PIXTRAL_CHROMIUM to its binary)',
    );
  return found;
}

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'], headless: true });
}

/** Screenshots of the main states, kept as test artifacts (ignored by git). */
export const ARTIFACTS = join('test-artifacts', 'playground');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Presses Tab until the element with this id has the focus: proof it is reachable from the keyboard. */
export async function tabTo(page: Page, id: string, backwards = false): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if ((await page.evaluate<string | undefined>('document.activeElement?.id')) === id) return;
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`#${id} never got the keyboard focus`);
}
