// Drives the VS Code workbench that code-server serves, in Debian's
// Chromium through playwright-core: the command palette, quick picks,
// notifications and dialogs, the activity bar and tree, and the content of
// webview panels (two nested iframes: VS Code's host frame and the panel's).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { ARTIFACTS, CHROMIUM } from './env';

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

export interface ConsoleEntry {
  type: string;
  text: string;
  url: string;
}

export class Workbench {
  readonly console: ConsoleEntry[] = [];

  private constructor(readonly browser: Browser, readonly page: Page) {
    page.on('console', (m) => this.console.push({ type: m.type(), text: m.text(), url: m.location().url }));
    page.on('pageerror', (e) => this.console.push({ type: 'pageerror', text: e.message, url: '' }));
  }

  static async open(url: string, opts: { width?: number; height?: number } = {}): Promise<Workbench> {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
    try {
      const context = await browser.newContext({ viewport: { width: opts.width ?? 1600, height: opts.height ?? 1000 } });
      const page = await context.newPage();
      const wb = new Workbench(browser, page);
      await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
      await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
      // The workbench is usable once the status bar and activity bar are drawn.
      await page.locator('.part.statusbar').waitFor({ timeout: 60_000 });
      await page.locator('.part.activitybar').waitFor({ timeout: 60_000 });
      return wb;
    } catch (e) {
      await browser.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
  }

  /** Runs a command by its palette title, e.g. "Hefery: Train Model". */
  async runCommand(title: string, timeoutMs = 60_000): Promise<void> {
    // The palette lists the commands known when it opens: an extension still
    // activating adds its commands later, so reopen until the command is there.
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const input = await this.openPalette();
      await input.fill(`>${title}`);
      const item = this.quickPickItem(title, true);
      const found = await item.waitFor({ timeout: 5000 }).then(() => true, () => false);
      if (found) {
        await item.click();
        return;
      }
      await this.page.keyboard.press('Escape');
      if (Date.now() > deadline) throw new Error(`no command "${title}" in the palette within ${timeoutMs} ms`);
    }
  }

  private async openPalette(): Promise<Locator> {
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.page.keyboard.press('F1');
      if (await input.isVisible().catch(() => false)) return input;
      await this.page.keyboard.press('Control+Shift+P');
      if (await input.isVisible().catch(() => false)) return input;
      await this.page.locator('.monaco-workbench').click({ position: { x: 800, y: 500 }, force: true }).catch(() => undefined);
      await this.page.waitForTimeout(500);
    }
    throw new Error('the command palette did not open');
  }

  /** A row of the open quick pick whose label contains `text` (exactly equal with `exact`). */
  quickPickItem(text: string, exact = false): Locator {
    const rows = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    return exact
      ? rows.filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(text)}$`) }) }).first()
      : rows.filter({ hasText: text }).first();
  }

  /**
   * Waits for the quick pick (or input box), titled `title` when given (a
   * command that asks several questions replaces one quick input by the
   * next), and answers it: picks a row containing `pick`, or types `type`
   * and Enter.
   */
  async answerQuickInput(a: { title?: RegExp; pick?: string; type?: string; timeoutMs?: number }): Promise<void> {
    const timeout = a.timeoutMs ?? 30_000;
    const widget = this.page.locator('.quick-input-widget');
    const input = widget.locator('.quick-input-box input');
    await input.waitFor({ state: 'visible', timeout });
    if (a.title) await widget.locator('.quick-input-title', { hasText: a.title }).waitFor({ timeout });
    if (a.type !== undefined) {
      await input.fill(a.type);
      await input.press('Enter');
    } else if (a.pick !== undefined) {
      const row = this.quickPickItem(a.pick);
      await row.waitFor({ timeout });
      await row.click();
    }
  }

  /**
   * Runs a command and answers its first question. A quick pick closes when
   * something else takes the focus (a webview panel that just came to the
   * front does): then nothing happened, so the command is run again.
   */
  async runCommandAnswering(command: string, answer: { title?: RegExp; pick?: string; type?: string }, attempts = 3): Promise<void> {
    return this.runCommandAnsweringAll(command, [answer], attempts);
  }

  /**
   * Runs a command and answers each of its questions in turn. Any question
   * may be closed by a panel taking the focus; the command acts only after
   * its last answer, so it is run again from the start.
   */
  async runCommandAnsweringAll(command: string, answers: Array<{ title?: RegExp; pick?: string; type?: string }>, attempts = 3): Promise<void> {
    for (let i = 1; ; i++) {
      await this.runCommand(command);
      try {
        for (const answer of answers) await this.answerQuickInput({ ...answer, timeoutMs: 15_000 });
        return;
      } catch (e) {
        if (i >= attempts) throw e;
        await this.page.keyboard.press('Escape');
      }
    }
  }

  quickInputTitle(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  /** A notification toast whose text matches. */
  notification(text: string | RegExp): Locator {
    return this.page.locator('.notifications-toasts .notification-toast').filter({ hasText: text }).first();
  }

  /** Clicks a button of the modal dialog whose message matches; returns the dialog's text. */
  async answerDialog(message: string | RegExp, button: string | RegExp, timeoutMs = 30_000): Promise<string> {
    const dialog = this.page.locator('.monaco-dialog-box').filter({ hasText: message }).first();
    await dialog.waitFor({ timeout: timeoutMs });
    const text = (await dialog.innerText()).trim();
    await dialog.locator('.dialog-buttons a.monaco-button, .dialog-buttons .monaco-button').filter({ hasText: button }).first().click();
    return text;
  }

  /** Opens the view container of the activity bar item labelled `label` (e.g. "Hefery"). */
  async openViewContainer(label: string): Promise<void> {
    const item = this.page.locator(`.activitybar .action-item a[aria-label^="${label}"], .activitybar .action-item .action-label[aria-label^="${label}"]`).first();
    await item.waitFor({ timeout: 30_000 });
    const pane = this.page.locator('.part.sidebar');
    const title = pane.locator('.composite.title', { hasText: label.toUpperCase() });
    // The activity bar icon toggles: right after a reload the workbench may
    // still be restoring the side bar, and a click that lands just after it
    // opened closes it again. So: click, check, and click again if closed.
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await title.isVisible().catch(() => false)) return;
      await item.click();
      if (await title.waitFor({ timeout: 5_000 }).then(() => true, () => false)) return;
    }
    throw new Error(`the ${label} view container did not open after 5 clicks on its activity bar icon`);
  }

  /** A row of a tree view whose label or description matches. */
  treeItem(text: string | RegExp): Locator {
    return this.page.locator('.part.sidebar .monaco-list-row').filter({ hasText: text }).first();
  }

  /** Expands a collapsed tree row (clicking its twistie; a click on an expanded row would collapse it). */
  async expand(row: Locator): Promise<void> {
    await row.waitFor({ timeout: 30_000 });
    if ((await row.getAttribute('aria-expanded')) === 'false') await row.locator('.monaco-tl-twistie').click();
  }

  /** The content of the visible webview panel (VS Code's frame, then the panel's own). */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready >> visible=true').frameLocator('#active-frame');
  }

  /** Activates the editor tab whose title matches. */
  async focusTab(title: string | RegExp): Promise<void> {
    await this.page.locator('.tabs-container .tab').filter({ hasText: title }).first().click();
  }

  async screenshot(name: string): Promise<string> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, `${name}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  /** Console messages from the panels (webview documents and their scripts) that report a Content-Security-Policy violation. */
  panelCspViolations(): ConsoleEntry[] {
    return this.console.filter((c) => /Content Security Policy|Refused to (load|apply|execute|connect)/i.test(c.text) && /vscode-resource|vscode-cdn\.net|webview/.test(c.url));
  }
}

export interface ChartInk {
  /** Values handed to the chart (data-points of the figure). */
  points: number;
  /** Canvas pixels in the colour of each series, by legend label. */
  pixels: Record<string, number>;
}

/**
 * What a panel's chart actually drew: the canvas pixels in each series'
 * colour (read from its legend marker), so an empty canvas with axes does
 * not pass for a chart with data.
 */
export async function chartInk(frame: FrameLocator, figureId: string): Promise<ChartInk> {
  const fig = frame.locator(`figure#${figureId}`);
  await fig.locator('canvas').waitFor({ timeout: 30_000 });
  return fig.evaluate((el) => {
    const canvas = el.querySelector('canvas');
    const out = { points: Number(el.getAttribute('data-points') ?? 0), pixels: {} as Record<string, number> };
    if (!canvas) return out;
    const img = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    el.querySelectorAll('.u-legend .u-series').forEach((row, i) => {
      if (i === 0) return; // the x series
      const marker = row.querySelector('.u-marker') as HTMLElement | null;
      const label = row.querySelector('.u-label')?.textContent?.trim() ?? `series ${i}`;
      const m = marker ? /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(getComputedStyle(marker).borderColor) : null;
      if (!m) return;
      const [r, g, b] = [Number(m[1]), Number(m[2]), Number(m[3])];
      let n = 0;
      for (let p = 0; p < img.length; p += 4) {
        if (img[p + 3] > 200 && Math.abs(img[p] - r) + Math.abs(img[p + 1] - g) + Math.abs(img[p + 2] - b) < 40) n++;
      }
      out.pixels[label] = n;
    });
    return out;
  });
}

/** The colour of a chart series as its legend marker shows it (what the chart drew it with). */
export async function seriesColor(frame: FrameLocator, figureId: string, label: string): Promise<string> {
  const row = frame.locator(`figure#${figureId} .u-legend .u-series`).filter({ has: frame.locator('.u-label', { hasText: label }) }).first();
  return row.locator('.u-marker').evaluate((m) => getComputedStyle(m).borderColor);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
