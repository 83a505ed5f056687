// The admin status page in a browser tab (playwright-core), read the way an
// operator reads it: text of what is shown, waiting for what is to come, and
// what went wrong underneath (script errors, CSP violations, requests that
// left the admin origin, markup that was run instead of shown).
import type { BrowserContext, Page } from 'playwright-core';

/** Long enough for a status refresh (5 s) and a rate (two refreshes) on a busy 2-core machine. */
const WAIT_MS = 25_000;

/** Functions below run in the page: they reach its globals through this. */
type PageGlobals = Record<string, any> & { document: any };

export class StatusPageView {
  readonly #pageErrors: string[] = [];
  readonly #foreignRequests: string[] = [];

  private constructor(readonly page: Page) {}

  static async open(context: BrowserContext, origin: string): Promise<StatusPageView> {
    const view = new StatusPageView(await context.newPage());
    const { page } = view;
    page.on('pageerror', (err) => view.#pageErrors.push(err.message));
    page.on('request', (req) => {
      if (!req.url().startsWith(`${origin}/`) && !req.url().startsWith('data:')) view.#foreignRequests.push(req.url());
    });
    await page.addInitScript(() => {
      const g = globalThis as unknown as PageGlobals;
      g.__csp = [];
      g.document.addEventListener('securitypolicyviolation', (e: { violatedDirective: string; blockedURI: string }) => g.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    await page.goto(`${origin}/`);
    await view.waitFor(() => (globalThis as unknown as PageGlobals).document.querySelector('#workers tr[data-worker]') !== null, 'the first status shown');
    return view;
  }

  async text(selector: string): Promise<string> {
    // innerText, as shown: table cells apart (textContent runs them together).
    return (await this.page.innerText(selector, { timeout: WAIT_MS })).trim();
  }

  async attribute(selector: string, name: string): Promise<string | null> {
    return this.page.getAttribute(selector, name, { timeout: WAIT_MS });
  }

  /** A computed style property (camelCase) of the first element matching `selector`. */
  async style(selector: string, property: string): Promise<string> {
    return this.page.$eval(selector, (element, name) => (globalThis as unknown as PageGlobals).getComputedStyle(element)[name], property);
  }

  async waitFor(condition: () => boolean, message: string): Promise<void> {
    try {
      await this.page.waitForFunction(condition, undefined, { timeout: WAIT_MS });
    } catch (err) {
      throw await this.#notShown(message, err as Error);
    }
  }

  /** Waits until an element matching `selector` has text matching `pattern`. */
  async waitForText(selector: string, pattern: RegExp, message: string): Promise<void> {
    try {
      await this.page.waitForFunction(
        ([sel, source, flags]) =>
          [...(globalThis as unknown as PageGlobals).document.querySelectorAll(sel)].some((e: { textContent: string }) => new RegExp(source, flags).test(e.textContent)),
        [selector, pattern.source, pattern.flags] as const,
        { timeout: WAIT_MS },
      );
    } catch (err) {
      throw await this.#notShown(`${message}: ${pattern} in ${selector}`, err as Error);
    }
  }

  /** A wait's timeout, with what the page showed instead. */
  async #notShown(what: string, err: Error): Promise<Error> {
    const shown = await this.page.evaluate(() => (globalThis as unknown as PageGlobals).document.body.innerText).catch(() => '(unreadable)');
    return new Error(`${what}: not shown within ${WAIT_MS} ms (${err.message.split('\n')[0]})\n--- the page showed ---\n${shown}`);
  }

  /** Types a host into the lookup form, submits it and waits for the answer. */
  async lookUp(host: string): Promise<void> {
    await this.page.fill('#lookup-host', host);
    await this.page.click('#lookup button[type="submit"]');
    await this.page.waitForSelector('#lookup-result [data-route], #lookup-result .error', { timeout: WAIT_MS });
  }

  /** Marks the document, so that sameDocument() tells whether the page was reloaded since. */
  async markDocument(): Promise<void> {
    await this.page.evaluate(() => ((globalThis as unknown as PageGlobals).__sameDocument = true));
  }

  async sameDocument(): Promise<boolean> {
    return this.page.evaluate(() => (globalThis as unknown as PageGlobals).__sameDocument === true);
  }

  /** What must stay empty: configuration markup run, images made from it, CSP violations, script errors, requests off the origin. */
  async troubles(): Promise<{ xss: boolean; images: number; cspViolations: string[]; pageErrors: string[]; foreignRequests: string[] }> {
    const { xss, images, cspViolations } = await this.page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return { xss: g.__xss !== undefined, images: g.document.images.length as number, cspViolations: g.__csp as string[] };
    });
    return { xss, images, cspViolations, pageErrors: this.#pageErrors, foreignRequests: this.#foreignRequests };
  }
}
