/**
 * The Explain screen in real Chromium against `vetbench serve` on a temporary project: the empty state, then
 * a Grad-CAM explanation of the demo model on BadNet-triggered images started from the screen (keyboard),
 * followed in the run monitor until its overlay shows in the run's pictures. Screenshots go to
 * docs/screenshots/explain*.png. Skipped, with the reason printed, only where Chromium (or Electron's binary) is missing.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ELECTRON_TARGET, SERVE_TARGET, type OpenedApp } from './app-targets.js';
import {
  collectConsoleErrors,
  expectImageLoaded,
  goTo,
  openedRunId,
  requireDemoDataset,
  runPageStatus,
  screenshot,
  workFolder,
} from './page-helpers.js';

const TARGETS = [SERVE_TARGET, ELECTRON_TARGET].map((target) => ({ target, reason: target.unavailable() }));
for (const { target, reason } of TARGETS)
  if (reason) console.log(`[e2e explain] ${target.name}: skipped: ${reason}`);
// A fresh clone has no demo images yet: generate them (about 30 s, once); a failure fails the file.
if (TARGETS.some(({ reason }) => reason === null)) await requireDemoDataset();

for (const { target, reason } of TARGETS)
  describe.skipIf(reason !== null)(`the Explain screen in ${target.name}`, () => {
    let work: string;
    let opened: OpenedApp | undefined;
    let page: Page;
    let consoleErrors: string[] = [];
    const go = (link: string): Promise<void> => goTo(page, link);

    async function shot(name: string): Promise<void> {
      // The navigation column is sticky: from the top it sits where it belongs in a full-page picture.
      await page.evaluate('window.scrollTo(0, 0)');
      await screenshot(page, target, name);
    }

    beforeAll(async () => {
      work = workFolder('e2e-explain-');
      opened = await target.open(join(work, 'explain.vbproj'));
      page = opened.page;
      consoleErrors = collectConsoleErrors(page);
    });

    afterAll(async () => {
      await opened?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('says what is missing on an empty project', async () => {
      await page.getByRole('heading', { name: 'Project', level: 1 }).waitFor();
      await go('Explain');
      const empty = page.getByRole('status').filter({ hasText: 'Nothing to explain yet' });
      await empty.waitFor();
      expect(await empty.getByRole('link', { name: 'Import a model' }).getAttribute('href')).toBe('#/models');
      expect(await page.getByRole('heading', { name: 'Explanations so far' }).count()).toBe(0);
      await shot('explain-empty');
    });

    let runId = 0;
    it('starts a Grad-CAM explanation from the keyboard and shows its overlay in the pictures', async () => {
      // The empty state opens the demo in place; the form replaces it.
      await page.getByRole('button', { name: 'Open the demo project' }).click();
      // The methods are generated from the job host's explain kind (listMethods), Grad-CAM first.
      const methods = page.locator('fieldset.methods input[name="explain-method"]');
      await expect.poll(() => methods.count(), { timeout: 60_000 }).toBe(6);
      expect(
        await methods.evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value)),
      ).toEqual(['gradcam', 'attention', 'rollout', 'embedding-map', 'pr', 'logit-lens']);
      expect(await page.locator('input[name="explain-method"][value="gradcam"]').isChecked()).toBe(true);
      // The parameter form comes from Grad-CAM's ParamSpecs: a value out of range is refused in place.
      await page.locator('#explain-param-count').fill('0');
      await page.getByText('At least 1.').waitFor();
      const submit = page.locator('form.explain button[type="submit"]');
      expect(await submit.isDisabled()).toBe(true);
      await page.locator('#explain-param-count').fill('2');
      await page.locator('#explain-param-block').fill('-2');

      // Trigger: the BadNet family towards banana, chosen with the keyboard.
      await page.locator('input[name="explain-trigger-source"][value="none"]').focus();
      await page.keyboard.press('ArrowRight');
      expect(await page.locator('input[name="explain-trigger-source"][value="family"]').isChecked()).toBe(
        true,
      );
      await page.getByText('Choose a trigger family.').waitFor();
      await page.locator('#explain-family').selectOption('badnet');
      await page.getByText('Choose the target class of the trigger.').waitFor();
      await page.locator('#explain-target').selectOption('banana');
      await page.locator('#explain-label').fill('Grad-CAM, BadNet → banana');
      await expect.poll(() => submit.isEnabled()).toBe(true);
      await shot('explain');

      await submit.focus();
      await page.keyboard.press('Enter');
      runId = await openedRunId(page);
      await page.locator('#run-title').waitFor();
      expect(await page.locator('#run-title').textContent()).toContain('Grad-CAM, BadNet → banana');
      await expect.poll(() => runPageStatus(page), { timeout: 60_000, interval: 250 }).toMatch(/done|failed/);
      expect(
        await runPageStatus(page),
        (await page.locator('[role="alert"]').allTextContents()).join('\n'),
      ).toBe('done');

      // The overlay panel is in the run's pictures and really loads.
      await expectImageLoaded(page.getByRole('img', { name: `gradcam.png of run ${runId}` }));
      // Its raw maps are stored beside it.
      expect(await page.locator('ul.artifacts').textContent()).toContain('gradcam_triggered.npy');
      await shot('explain-run');
    });

    it("lines up a second explanation's overlay beside the first one", async () => {
      await go('Explain');
      await page.locator('#explain-param-count').fill('2');
      await page.locator('#explain-label').fill('Grad-CAM, clean');
      await page.getByRole('button', { name: 'Explain with Grad-CAM (ViT)' }).click();
      const cleanRunId = await openedRunId(page);
      expect(cleanRunId).not.toBe(runId);
      await expect.poll(() => runPageStatus(page), { timeout: 60_000, interval: 250 }).toBe('done');

      await go('Explain');
      const rows = page.locator('table.recent tr[data-run-id]');
      await expect.poll(() => rows.count()).toBe(2);
      for (const id of [runId, cleanRunId]) {
        const row = page.locator(`table.recent tr[data-run-id="${id}"]`);
        expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('done');
        await row.locator('input[type="checkbox"]').check();
      }
      await page.getByRole('button', { name: 'Compare the pictures of 2 explanations' }).click();
      await page.waitForURL(/#\/compare\//);
      for (const id of [runId, cleanRunId])
        await expectImageLoaded(page.getByRole('img', { name: `gradcam.png of run ${id}` }));
      await shot('explain-compare');
    });

    it('draws an embedding map of clean and triggered images and shows the SVG', async () => {
      await go('Explain');
      await page.locator('input[name="explain-method"][value="embedding-map"]').check();
      await page.locator('#explain-param-count').fill('16');
      await page.locator('#explain-param-neighbors').fill('5');
      await page.locator('input[name="explain-trigger-source"][value="family"]').check();
      await page.locator('#explain-family').selectOption('badnet');
      await page.locator('#explain-target').selectOption('banana');
      await shot('explain-embedding-map');
      await page.getByRole('button', { name: 'Explain with Embedding map (UMAP)' }).click();
      const mapRunId = await openedRunId(page);
      await expect.poll(() => runPageStatus(page), { timeout: 60_000, interval: 250 }).toBe('done');
      await expectImageLoaded(page.getByRole('img', { name: `embedding-map-model.svg of run ${mapRunId}` }));
      await shot('explain-embedding-map-run');
    });

    it('shows the Explain screen in the dark theme without console errors', async () => {
      await go('Explain');
      await page.locator(`table.recent tr[data-run-id="${runId}"]`).waitFor();
      await page.getByRole('button', { name: /^Theme:/ }).click(); // system -> light
      await page.getByRole('button', { name: /^Theme:/ }).click(); // light -> dark
      expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
      await shot('explain-dark');
      expect(consoleErrors).toEqual([]);
    });
  });
