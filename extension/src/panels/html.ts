// The HTML shell of a panel: a strict Content-Security-Policy with a fresh
// nonce per render, nothing remote, the panel's own bundle and styles only.
// The toolkit (FAST) probes for :focus-visible with a <style> element and
// takes the nonce for it from <meta property="csp-nonce">.
// vscode-free so its policy can be checked in plain Node.

import { randomBytes } from 'node:crypto';
import type { PanelKind } from '../../../webview/src/shared/messages';

/** 128 bits from the OS's CSPRNG, base64 (what CSP nonces are made of). */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

export interface HtmlOptions {
  kind: PanelKind;
  title: string;
  nonce: string;
  /** webview.cspSource: the origin asWebviewUri's URIs are served from. */
  cspSource: string;
  /** asWebviewUri of a file under the extension, by path segments. */
  uri(...path: string[]): string;
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function panelHtml(o: HtmlOptions): string {
  const n = escapeAttr(o.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta property="csp-nonce" content="${n}">
<link rel="stylesheet" nonce="${n}" href="${escapeAttr(o.uri('media', 'panels.css'))}">
<link rel="stylesheet" nonce="${n}" href="${escapeAttr(o.uri('dist', 'webview', `${o.kind}.css`))}">
<title>${escapeAttr(o.title)}</title>
</head>
<body data-kind="${o.kind}">
<main id="app" aria-busy="true"><p class="loading">Loading ${escapeAttr(o.title)}…</p></main>
<script nonce="${n}" src="${escapeAttr(o.uri('dist', 'webview', `${o.kind}.js`))}"></script>
</body>
</html>`;
}
