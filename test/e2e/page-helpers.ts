/**
 * What the browser stories do on the app's pages in the same way: find the demo dataset, make a work folder,
 * collect console errors, take the docs' screenshots, follow the main navigation, wait for a run's page or an
 * image's pixels, and dismiss an error.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { resolveDataset } from '../../engine/datasets/resolve.js';
import type { AppTarget } from './app-targets.js';
import { REPO_ROOT } from './serve-process.js';

export const SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots');

/**
 * Generates the demo dataset on a fresh clone (about 30 s, once). A failure is the product's and fails the
 * story: only a missing optional system component (Chromium, Electron's binary) may skip one.
 */
export async function requireDemoDataset(): Promise<void> {
  await resolveDataset('demo');
}

/** A new folder for one story's projects and files, under the repository's ignored .vetbench-tmp. */
export function workFolder(prefix: string): string {
  mkdirSync(join(REPO_ROOT, '.vetbench-tmp'), { recursive: true });
  return mkdtempSync(join(REPO_ROOT, '.vetbench-tmp', prefix));
}

/**
 * The page's console errors and uncaught exceptions from now on (a story ends by expecting none), less the
 * console messages the story causes on purpose.
 */
export function collectConsoleErrors(
  page: Page,
  expected: (text: string) => boolean = () => false,
): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected(m.text())) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** True when the stories should rewrite docs/screenshots (VETBENCH_SCREENSHOTS=1); `npm test` leaves them alone. */
export const WRITE_SCREENSHOTS = process.env.VETBENCH_SCREENSHOTS === '1';

/**
 * Saves the whole page as docs/screenshots/<the target's prefix><name>.png, only with VETBENCH_SCREENSHOTS=1:
 * the files are tracked, and a test run must leave the checkout clean.
 */
export async function screenshot(page: Page, target: AppTarget, name: string): Promise<void> {
  if (!WRITE_SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${target.screenshotPrefix}${name}.png`), fullPage: true });
}

/** Follows a link of the main navigation. */
export async function goTo(page: Page, link: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link, exact: true }).click();
}

/** The status the open run page shows. */
export function runPageStatus(page: Page): Promise<string | null> {
  return page.locator('header [data-status]').first().getAttribute('data-status');
}

/** Waits for the app to show a run's page (as it does after starting one) and returns that run's id. */
export async function openedRunId(page: Page): Promise<number> {
  await page.waitForURL(/#\/runs\/\d+$/, { timeout: 30_000 });
  return Number(/#\/runs\/(\d+)$/.exec(page.url())![1]);
}

/** Waits until the image is shown and has really loaded (it has pixels). */
export async function expectImageLoaded(image: Locator): Promise<void> {
  await image.waitFor({ timeout: 30_000 });
  await expect
    .poll(() => image.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth), {
      timeout: 30_000,
    })
    .toBeGreaterThan(0);
}

/** Closes the error alert that shows this error code. */
export async function dismissAlert(page: Page, code: string): Promise<void> {
  await page.getByRole('alert').filter({ hasText: code }).getByRole('button').first().click();
}
