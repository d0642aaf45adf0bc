/**
 * The desktop app in real Chromium against `vetbench serve` on a temporary project: open the demo project,
 * import a model and a dataset, run an attack and a defense from the wizards while the chart updates, cancel
 * and resume a run, compare two runs with only differences shown. Screenshots of each screen go to
 * docs/screenshots/. Skipped, with the reason printed, only where Chromium (or Electron's binary) is missing.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ELECTRON_TARGET, SERVE_TARGET, type OpenedApp } from './app-targets.js';
import {
  collectConsoleErrors,
  dismissAlert,
  expectImageLoaded,
  goTo,
  openedRunId,
  requireDemoDataset,
  runPageStatus,
  screenshot,
  workFolder,
} from './page-helpers.js';
import { REPO_ROOT } from './serve-process.js';
import { hasCommand } from '../helpers/system-tools.js';

const FIXTURE_MODEL = join(REPO_ROOT, '..', 'shared', 'fixtures', 'clip-tiny-a', 'model.safetensors');
const DEMO_DATASET = join(REPO_ROOT, 'datasets', 'demo');

/**
 * Only a missing optional system component (Chromium, Electron's binary) skips a story. The story's inputs are
 * the product's business: a missing fixture model or a demo dataset that cannot be generated fails the file.
 */
async function requireInputs(): Promise<void> {
  if (!existsSync(FIXTURE_MODEL))
    throw new Error(`the fixture model ${FIXTURE_MODEL} is missing: put ../shared beside the repository`);
  // A fresh clone has no demo images yet: generate them (about 30 s, once); a failure fails the file.
  await requireDemoDataset();
  if (!existsSync(join(DEMO_DATASET, 'train')))
    throw new Error(`the demo dataset is missing at ${DEMO_DATASET}`);
}

/** A small split dataset (a few demo images per class) so training jobs take seconds. */
function smallDataset(into: string, perClassTrain: number, perClassTest: number): string {
  const root = join(into, 'small-demo');
  for (const [split, count] of [
    ['train', perClassTrain],
    ['test', perClassTest],
  ] as const) {
    for (const cls of readdirSync(join(DEMO_DATASET, split))) {
      mkdirSync(join(root, split, cls), { recursive: true });
      for (const file of readdirSync(join(DEMO_DATASET, split, cls))
        .sort()
        .slice(0, count))
        copyFileSync(join(DEMO_DATASET, split, cls, file), join(root, split, cls, file));
    }
  }
  return root;
}

const TARGETS = [SERVE_TARGET, ELECTRON_TARGET].map((target) => ({ target, reason: target.unavailable() }));
for (const { target, reason } of TARGETS) if (reason) console.log(`[e2e] ${target.name}: skipped: ${reason}`);
if (TARGETS.some(({ reason }) => reason === null)) await requireInputs();

for (const { target, reason } of TARGETS)
  describe.skipIf(reason !== null)(`the app in ${target.name}`, () => {
    let work: string;
    let opened: OpenedApp | undefined;
    let page: Page;
    let consoleErrors: string[] = [];
    const shot = (name: string): Promise<void> => screenshot(page, target, name);
    const go = (link: string): Promise<void> => goTo(page, link);
    const statusOfRun = (): Promise<string | null> => runPageStatus(page);

    beforeAll(async () => {
      work = workFolder('e2e-');
      opened = await target.open(join(work, 'e2e.vbproj'));
      page = opened.page;
      // A refused call (the bad path above) is logged by Chromium as a failed resource; that is expected.
      consoleErrors = collectConsoleErrors(page, (text) => text.startsWith('Failed to load resource'));
    });

    afterAll(async () => {
      await opened?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('opens the demo project', async () => {
      await expect
        .poll(() => page.getByRole('heading', { name: 'Project', level: 1 }).isVisible())
        .toBe(true);
      // The token left the address bar (it stays in the session for reloads).
      expect(page.url()).not.toContain('token=');
      await expect.poll(() => page.locator('[data-count="models"]').textContent()).toBe('0');
      await shot('01-project-empty');
      await page.getByRole('button', { name: 'Open the demo project' }).click();
      await page.getByText('Demo model and dataset are in this project.').waitFor({ timeout: 120_000 });
      await expect.poll(() => page.locator('[data-count="models"]').textContent()).toBe('1');
      await shot('02-project-demo');
    });

    it('imports a model and a dataset by path and shows what they are', async () => {
      const modelPath = join(work, 'clip-tiny-a.safetensors');
      copyFileSync(FIXTURE_MODEL, modelPath);
      await go('Models');
      await page.locator('#model-import-path').fill(modelPath);
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      const model = page.locator('.model.highlighted');
      await model.waitFor({ timeout: 60_000 });
      expect(await model.locator('.fingerprint').textContent()).toMatch(/^[0-9a-f]{64}$/);
      expect(await page.locator('article.model').count()).toBe(2);
      await shot('03-models');

      // A bad path gets the API's message and hint.
      await page.locator('#model-import-path').fill(join(work, 'nothing-here.safetensors'));
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      await page.getByRole('alert').first().waitFor();
      expect(await page.getByRole('alert').first().locator('code').textContent()).not.toBe('');
      await shot('03b-models-import-error');

      const datasetPath = smallDataset(work, 4, 2);
      await go('Datasets');
      await page.locator('#dataset-import-path').fill(datasetPath);
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      const dataset = page.locator('.dataset.highlighted');
      await dataset.waitFor({ timeout: 60_000 });
      expect(await dataset.locator('table.classes tbody tr').count()).toBe(12);
      // Sample images really load (the server converts them to PNG).
      await expectImageLoaded(dataset.locator('.samples img').first());
      await shot('04-datasets');
    });

    /** Fills the wizard on the current screen and starts the run; returns its id. */
    async function startFromWizard(
      kind: 'attack' | 'defense',
      label: string,
      params: Record<string, string>,
      target?: string,
    ): Promise<number> {
      await page.locator(`#${kind}-model`).selectOption({ label: await demoModelLabel(kind) });
      await page.locator(`#${kind}-dataset`).selectOption({ label: await smallDatasetLabel(kind) });
      if (target) await page.locator(`#${kind}-target`).selectOption(target);
      for (const [key, value] of Object.entries(params))
        await page.locator(`#${kind}-param-${key}`).fill(value);
      await page.locator(`#${kind}-label`).fill(label);
      const submit = page.locator('form button[type="submit"]');
      await expect.poll(() => submit.isEnabled()).toBe(true);
      await submit.click();
      return openedRunId(page);
    }

    // Waits for the option: a screen that has just opened may still be loading its form, and reading the
    // options at once then found none, so a later selectOption picked the placeholder (and the wizard's
    // first model) instead of the one asked for.
    async function optionLabel(select: string, pattern: RegExp): Promise<string> {
      const option = page.locator(`${select} option`).filter({ hasText: pattern }).first();
      await option.waitFor({ state: 'attached' });
      return (await option.textContent())!;
    }

    async function demoModelLabel(kind: string): Promise<string> {
      return optionLabel(`#${kind}-model`, /demo/i);
    }
    async function smallDatasetLabel(kind: string): Promise<string> {
      return optionLabel(`#${kind}-dataset`, /small-demo/);
    }

    /** Waits for the run to finish while recording the loss chart's points; returns [while running, at the end]. */
    async function followChart(): Promise<[number, number]> {
      const loss = page.locator('figure.chart[data-series*="loss"]').first();
      let whileRunning = 0;
      await expect
        .poll(
          async () => {
            const status = await statusOfRun();
            if (status === 'running' && (await loss.count()) > 0)
              whileRunning = Math.max(whileRunning, Number(await loss.getAttribute('data-points')));
            return status;
          },
          { timeout: 150_000, interval: 250 },
        )
        .toMatch(/done|failed/);
      expect(
        await statusOfRun(),
        await page
          .locator('[role="alert"]')
          .allTextContents()
          .then((t) => t.join('\n')),
      ).toBe('done');
      return [whileRunning, Number(await loss.getAttribute('data-points'))];
    }

    let attackRunId = 0;
    it('runs an attack from the generated wizard while the chart updates', async () => {
      await go('Attack');
      await page.locator('#attack-param-epochs').waitFor();
      // The form is generated from the declared parameters: a value out of range is refused in place.
      await page.locator('#attack-param-epochs').fill('0');
      await page.getByText('At least 1.').waitFor();
      await shot('05-attack-wizard-validation');
      attackRunId = await startFromWizard(
        'attack',
        'BadNet, 2 epochs',
        { epochs: '2', batchSize: '16', warmup: '2' },
        'banana',
      );
      const [whileRunning, atEnd] = await followChart();
      expect(whileRunning).toBeGreaterThan(0);
      expect(atEnd).toBeGreaterThanOrEqual(whileRunning);
      // The monitor shows the run's final ASR as a percentage: a number in [0, 100], never NaN or empty.
      const asrText = (await page.locator('[data-metric="asr"]').textContent())?.trim() ?? '';
      expect(asrText).toMatch(/^\d+(\.\d+)?$/);
      expect(Number(asrText)).toBeLessThanOrEqual(100);
      await shot('06-run-monitor-attack');
    });

    it('runs a defense from the generated wizard', async () => {
      await go('Defend');
      const methods = page.locator('fieldset.methods input[type="radio"]');
      const none = page.getByText('No defense methods are available');
      await expect
        .poll(async () => (await methods.count()) + (await none.count()), { timeout: 30_000 })
        .toBeGreaterThan(0);
      await shot('07-defend-wizard');
      // Defense methods are part of the product: an empty list is a failure, not a reason to skip.
      expect(await none.count()).toBe(0);
      expect(await methods.count()).toBeGreaterThan(0);
      const rvpt = page.locator('fieldset.methods input[value="rvpt"]');
      if ((await rvpt.count()) > 0) await rvpt.check();
      const params: Record<string, string> = {};
      for (const [key, value] of Object.entries({ epochs: '2', shots: '2', batchSize: '8' }))
        if ((await page.locator(`#defense-param-${key}`).count()) > 0) params[key] = value;
      await startFromWizard('defense', 'RVPT, tiny', params);
      await followChart();
      await shot('08-run-monitor-defense');
    });

    let resumedRunId = 0;
    it('cancels a running attack and resumes it to the end', async () => {
      await go('Attack');
      await page.locator('#attack-param-epochs').waitFor();
      resumedRunId = await startFromWizard(
        'attack',
        'BadNet, 3 epochs, poison 0.2',
        { epochs: '3', batchSize: '16', warmup: '2', poisonRate: '0.2' },
        'banana',
      );
      // Cancel once the first epoch's checkpoint is written, so the resume continues from it.
      await expect
        .poll(() => page.locator('.stats').first().textContent(), { timeout: 90_000, interval: 100 })
        .toMatch(/checkpoint at step \d+/);
      await page.getByRole('button', { name: 'Cancel' }).click();
      await expect.poll(() => statusOfRun(), { timeout: 60_000 }).toBe('cancelled');
      await shot('09-run-cancelled');
      const resume = page.getByRole('button', { name: /^Resume from step \d+$/ });
      await resume.waitFor();
      await resume.click();
      await followChart();
      expect(await page.locator('.stats').first().textContent()).toMatch(/attempt 2/);
      await shot('10-run-resumed');
    });

    it('vets a model: clean accuracy and a known trigger family towards a suspected target', async () => {
      await go('Vet');
      await page.locator('#vet-model').selectOption({ label: await optionLabel('#vet-model', /demo/i) });
      await page
        .locator('#vet-dataset')
        .selectOption({ label: await optionLabel('#vet-dataset', /small-demo/) });
      await page.locator('fieldset.families input[value="badnet"]').check();
      // The sweep (16, 56, 112 px) is the default; this check tests the one size of the form.
      await expect.poll(() => page.locator('[data-sweep="badnet"]').textContent()).toMatch(/patchSize=112/);
      await page.getByLabel(/Sweep each family's usual sizes/).uncheck();
      await page.locator('#vet-target').selectOption('banana');
      await shot('11-vet-wizard');
      await page.getByRole('button', { name: 'Start 2 checks' }).click();
      await page.waitForURL(/#\/runs$/);
      const vetRows = page.locator('tr[data-run-id]', { hasText: 'Vet:' });
      await expect.poll(() => vetRows.count(), { timeout: 30_000 }).toBe(2);
      await expect
        .poll(() => vetRows.locator('[data-status="done"]').count(), { timeout: 120_000, interval: 500 })
        .toBe(2);
      // The clean check measured CA; the trigger check CA and ASR.
      expect(await vetRows.first().locator('td').nth(6).textContent()).toMatch(/CA \d/);
      await shot('12-runs-after-vet');
    });

    it('lists runs with filters and compares two with only the differences', async () => {
      await go('Runs');
      await page.locator(`tr[data-run-id="${attackRunId}"]`).waitFor();
      await page.locator('.filters select').first().selectOption('done');
      await expect.poll(() => page.locator('tr[data-run-id]').count()).toBeGreaterThanOrEqual(2);
      await page.locator('.filters select').nth(1).selectOption('attack');
      await expect.poll(() => page.locator('tr[data-run-id]').count()).toBe(2);
      await shot('13-runs-filtered');
      await page.locator(`tr[data-run-id="${attackRunId}"] input[type="checkbox"]`).check();
      await page.locator(`tr[data-run-id="${resumedRunId}"] input[type="checkbox"]`).check();
      // Export report of the two selected runs, from the keyboard.
      await page.getByRole('button', { name: 'Export report' }).focus();
      await page.keyboard.press('Enter');
      const exported = page.locator('p.exported[role="status"]');
      await exported.waitFor();
      expect(await exported.textContent()).toMatch(/report-\d+\.html/);
      if (target === ELECTRON_TARGET)
        // The desktop app cannot navigate: a button asks the main process to open the stored report.
        expect(await exported.getByRole('button', { name: 'open the report' }).count()).toBe(1);
      else
        expect(
          await exported.getByRole('link', { name: 'open the report' }).getAttribute('href'),
        ).toBeTruthy();
      await shot('13b-report-exported');
      await page.getByRole('button', { name: 'Compare 2 selected' }).click();
      await page.waitForURL(/#\/compare\//);
      const table = page.locator('table.comparison');
      await table.waitFor();
      await expect.poll(() => table.locator('tr[data-row="seed"]').count()).toBe(1);
      await page.getByLabel('Only differences').check();
      await expect.poll(() => table.locator('tr[data-row="seed"]').count()).toBe(0);
      const rows = table.locator('tr[data-row]');
      expect(await rows.count()).toBeGreaterThan(0);
      expect(await table.locator('tr[data-row]:not(.differs)').count()).toBe(0);
      expect(await table.locator('tr[data-row="epochs"]').count()).toBe(1);
      await shot('14-compare-only-differences');
    });

    it('saves the comparison under a name and reopens it from the saved list', async () => {
      await page.locator('#compare-name').fill('BadNet: 2 vs 3 epochs');
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      const savedNote = page.locator('p.ok[role="status"]');
      await savedNote.waitFor();
      expect(await savedNote.textContent()).toContain('Saved as “BadNet: 2 vs 3 epochs”');
      const row = page.locator('table.saved tr[data-comparison-id]', { hasText: 'BadNet: 2 vs 3 epochs' });
      await row.waitFor();
      // Reopen it later, from the run list's "Saved comparisons" link, by keyboard.
      await go('Runs');
      await page.getByRole('link', { name: 'Saved comparisons' }).click();
      await page.getByRole('heading', { name: 'Pick at least two runs' }).waitFor();
      await page.getByRole('link', { name: 'BadNet: 2 vs 3 epochs' }).focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(/#\/comparisons\/\d+$/);
      await page.getByRole('heading', { name: 'Comparison: BadNet: 2 vs 3 epochs', level: 1 }).waitFor();
      const table = page.locator('table.comparison');
      await expect.poll(() => table.locator('thead th').count()).toBeGreaterThanOrEqual(3);
      expect(await table.locator('tr[data-row="epochs"]').count()).toBe(1);
      await shot('16-compare-saved-reopened');
    });

    it('exports an artifact from the run screen and says where it went', async () => {
      await page.evaluate(`location.hash = '#/runs/${attackRunId}'`);
      await page.locator('#run-title').waitFor();
      const trigger = page.locator('li[data-artifact-id]', { hasText: 'trigger' }).first();
      await trigger.waitFor();
      const name = (await trigger.locator('code').first().textContent())!;
      await trigger.getByRole('button', { name: `Export ${name}` }).click();
      const note = page.locator('p.exported[role="status"]');
      await note.waitFor();
      const exportedTo = (await note.locator('code.path').textContent())!;
      expect(exportedTo).toBe(join(work, 'e2e-exports', `run-${attackRunId}-${name}`));
      expect(existsSync(exportedTo)).toBe(true);
      // A destination outside the allowed folders is refused with the API's message and hint.
      await page.locator('#artifact-export-to').fill('/proc/vetbench-nowhere');
      await trigger.getByRole('button', { name: `Export ${name}` }).click();
      await page.getByRole('alert').filter({ hasText: 'path-not-allowed' }).waitFor();
      await dismissAlert(page, 'path-not-allowed');
      await page.locator('#artifact-export-to').fill('');
      await trigger.getByRole('button', { name: `Export ${name}` }).click();
      await expect
        .poll(() => note.locator('code.path').textContent())
        .toBe(join(work, 'e2e-exports', `run-${attackRunId}-${name.replace(/(\.[^.]+)$/, '-2$1')}`));
      await shot('17-run-artifact-exported');
    });

    it('vets the backdoored model with the trigger its attack run saved', async () => {
      const asrOf = async (runId: number): Promise<number> => {
        const text = await page.locator(`tr[data-run-id="${runId}"] td`).nth(6).textContent();
        return Number(/ASR ([\d.]+)/.exec(text ?? '')?.[1]);
      };
      await go('Runs');
      const attackAsr = await asrOf(attackRunId);
      await go('Vet');
      // The model the first attack wrote ("badnet on banana (run N)").
      await page
        .locator('#vet-model')
        .selectOption({ label: await optionLabel('#vet-model', new RegExp(`\\(run ${attackRunId}\\)`)) });
      await page
        .locator('#vet-dataset')
        .selectOption({ label: await optionLabel('#vet-dataset', /small-demo/) });
      const saved = page.locator('fieldset.saved-triggers label', { hasText: `#${attackRunId} ` });
      await saved.waitFor({ timeout: 30_000 });
      await saved.locator('input[type="checkbox"]').check();
      // Known triggers at the family's usual sizes, and a scan that is not told the trigger.
      await page.getByLabel(/Sweep each family's usual sizes/).check();
      await page.locator('fieldset.families input[value="badnet"]').check();
      await page.getByLabel(/Known-family probe/).check();
      await page.locator('#vet-target').selectOption('banana');
      await shot('18-vet-saved-trigger');
      await page.getByRole('button', { name: 'Start 6 checks' }).click();
      await page.waitForURL(/#\/runs$/);
      const triggerRow = page.locator('tr[data-run-id]', { hasText: `of run #${attackRunId}` });
      await triggerRow.waitFor({ timeout: 30_000 });
      await expect
        .poll(() => triggerRow.locator('[data-status]').getAttribute('data-status'), {
          timeout: 120_000,
          interval: 500,
        })
        .toBe('done');
      // The saved trigger is re-applied identically: the check measures the ASR the attack itself reported.
      const vetAsr = await asrOf(Number(await triggerRow.getAttribute('data-run-id')));
      console.log(`[e2e] ASR of the saved trigger: attack run ${attackAsr}, vet check ${vetAsr}`);
      expect(vetAsr).toBe(attackAsr);
      const checks = page.locator('tr[data-run-id]', { hasText: `(run ${attackRunId})` });
      await expect
        .poll(() => checks.locator('[data-status="done"]').count(), { timeout: 180_000, interval: 500 })
        .toBeGreaterThanOrEqual(6);

      // The model's card answers the analyst's first question.
      await go('Models');
      const verdict = backdooredCard().locator('[data-verdict]');
      await expect
        .poll(() => verdict.getAttribute('data-verdict'), { timeout: 30_000 })
        .toBe('backdoor-suspected');
      expect(await verdict.locator('.badge').textContent()).toBe('Backdoor suspected: banana');
      await verdict.locator('details summary').click();
      console.log(`[e2e] verdict after vetting: ${await verdict.textContent()}`);
      await shot('18b-model-verdict-suspected');
    });

    /** The Models screen's card of the model the first attack wrote ("... (run N)"). */
    function backdooredCard() {
      return page.locator('article.model', { hasText: `(run ${attackRunId})` });
    }

    it('hardens the backdoored model with its trigger and target and shows ASR before and after', async () => {
      await go('Defend');
      await page
        .locator('#defense-model')
        .selectOption({ label: await optionLabel('#defense-model', new RegExp(`\\(run ${attackRunId}\\)`)) });
      await page
        .locator('#defense-dataset')
        .selectOption({ label: await optionLabel('#defense-dataset', /small-demo/) });
      await page.locator('fieldset.methods input[value="rvpt"]').check();
      await page.locator('#defense-trigger').selectOption({
        label: await optionLabel('#defense-trigger', new RegExp(`of run #${attackRunId} `)),
      });
      // A saved trigger brings its attack's target.
      expect(await page.locator('#defense-trigger-target').inputValue()).toBe('banana');
      for (const [key, value] of Object.entries({ epochs: '2', shots: '2', batchSize: '8' }))
        await page.locator(`#defense-param-${key}`).fill(value);
      await page.locator('#defense-label').fill('RVPT with the BadNet trigger');
      await shot('07b-defend-with-trigger');
      await page.locator('form button[type="submit"]').click();
      await openedRunId(page);
      await followChart();
      expect(Number(await page.locator('[data-metric="asr_before"]').textContent())).toBeGreaterThan(0);

      await go('Models');
      const verdict = backdooredCard().locator('[data-verdict]');
      await expect.poll(() => verdict.textContent(), { timeout: 30_000 }).toMatch(/ASR [\d.]+% → [\d.]+%/);
      console.log(`[e2e] verdict after hardening: ${await verdict.textContent()}`);
      expect(['backdoor-suspected', 'hardened']).toContain(await verdict.getAttribute('data-verdict'));
      await shot('18c-model-verdict-after-hardening');
    });

    it("exports the report whose first page states each model's verdict", async () => {
      await go('Runs');
      await page.locator('tr[data-run-id]').first().waitFor();
      // No ticks: the report covers every run of the project (each model of the story).
      const ticked = page.locator('tr[data-run-id] input[type="checkbox"]:checked');
      while ((await ticked.count()) > 0) await ticked.first().uncheck();
      const pdf = hasCommand('pdftotext');
      await page.locator('form.export select').selectOption(pdf ? 'pdf' : 'html');
      await page.getByRole('button', { name: 'Export report' }).click();
      const exported = page.locator('p.exported[role="status"]');
      await expect
        .poll(() => exported.locator('code').first().textContent(), { timeout: 120_000 })
        .toMatch(pdf ? /report-\d+\.pdf$/ : /report-\d+\.html$/);
      const file = (await exported.locator('code').first().textContent())!;
      const firstPage = pdf
        ? execFileSync('pdftotext', ['-f', '1', '-l', '1', '-layout', file, '-'], { encoding: 'utf8' })
        : readFileSync(file, 'utf8').split('class="page-break"')[0]!;
      console.log(`[e2e] report page 1 (${pdf ? 'PDF' : 'HTML'}):\n${firstPage.slice(0, 1500)}`);
      expect(firstPage).toContain('Verdict');
      expect(firstPage).toContain('banana');
      expect(firstPage).toMatch(/backdoor suspected|hardened/);
    });

    it('switches to a new project while a run goes on, and back', async () => {
      // A run that is still going when the project is left.
      await go('Attack');
      await page.locator('#attack-param-epochs').waitFor();
      const longRunId = await startFromWizard(
        'attack',
        'BadNet, 3 epochs, left running',
        { epochs: '3', batchSize: '16', warmup: '2' },
        'banana',
      );
      await go('Project');
      // A wrong path first: the API's message and hint, nothing switched.
      await page.locator('#project-open-path').fill(join(work, 'missing.vbproj'));
      await page.getByRole('button', { name: 'Open', exact: true }).click();
      await page.getByRole('alert').filter({ hasText: 'project-missing' }).waitFor();
      await shot('19-project-open-error');
      await dismissAlert(page, 'project-missing');

      await page.locator('#project-create-path').fill(join(work, 'second.vbproj'));
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      await expect.poll(() => page.locator('nav .project').textContent(), { timeout: 30_000 }).toBe('second');
      await expect.poll(() => page.locator('[data-count="runs"]').textContent()).toBe('0');
      expect(await page.getByRole('heading', { name: 'Project', level: 1 }).isVisible()).toBe(true);
      // The old project's run goes on in the background, and the list says so.
      const recentRow = page.locator('tr[data-project-path]', { hasText: 'e2e' });
      await recentRow.waitFor();
      const background = page.locator('p.background[role="status"]');
      const runFinished = (await recentRow.locator('.running').count()) === 0;
      if (!runFinished) expect(await background.textContent()).toMatch(/e2e \(1 run\)/);
      // Nothing of the old project is left on the screens.
      await go('Runs');
      await page.getByRole('heading', { name: 'No runs yet' }).waitFor();
      await go('Models');
      expect(await page.locator('article.model').count()).toBe(0);
      await go('Project');
      await shot('20-project-switched');

      await page.getByRole('button', { name: 'Open e2e' }).click();
      await expect.poll(() => page.locator('nav .project').textContent(), { timeout: 30_000 }).toBe('e2e');
      await expect.poll(() => page.locator('[data-count="models"]').textContent()).toMatch(/^[3-9]$/);
      await page.evaluate(`location.hash = '#/runs/${longRunId}'`);
      await page.locator('#run-title').waitFor();
      await expect.poll(() => statusOfRun(), { timeout: 150_000, interval: 500 }).toBe('done');
      // The second project is in the recent list now.
      await go('Project');
      await page.locator('tr[data-project-path]', { hasText: 'second' }).waitFor();
      await shot('21-project-recent');
    });

    it('shows the dark theme and made no console errors', async () => {
      await page.evaluate(`location.hash = '#/runs/${attackRunId}'`);
      await page.locator('#run-title').waitFor();
      await page.getByRole('button', { name: /^Theme:/ }).click(); // system -> light
      await page.getByRole('button', { name: /^Theme:/ }).click(); // light -> dark
      expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
      await shot('15-run-monitor-dark');
      await go('Project');
      await page.locator('tr[data-project-path]').first().waitFor();
      await shot('22-project-dark');
      expect(consoleErrors).toEqual([]);
    });
  });
