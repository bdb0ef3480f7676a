// Fuzz: the panels' HTML shell (extension/src/panels/html.ts) allows nothing
// remote, whatever the panel's title (a domain name, or anything a hostile
// agent could put there) and whatever webview source VS Code gives. The
// Content-Security-Policy has exactly the directives below and no wildcard,
// scheme-wide or unsafe source; the one script and the two stylesheets carry
// the render's nonce and come from the webview source; the title cannot add
// an element. Nonces are 128 random bits, fresh per render. (A fixed case,
// and the e2e check that no panel broke its CSP in a real VS Code, are in
// webview/test/messages.test.ts and test/e2e/extension.e2e.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { contentSecurityPolicy, newNonce, panelHtml } from '../../../extension/src/panels/html';
import type { PanelKind } from '../../../webview/src/shared/messages';

const SOURCES = ['https://*.vscode-cdn.net', 'vscode-webview://abc123', 'https://file+.vscode-resource.vscode-cdn.net'];
const HOSTILE = ['"><script>alert(1)</script>', '</title><meta http-equiv="refresh" content="0;url=https://evil.example">', "' onload='x", '<img src=https://evil.example/x.png>', '&lt;&amp;', '\u0000\u2028'];

test('fuzz: whatever the title and webview source, the panel HTML loads nothing remote and nothing without the nonce', () => {
  fc.assert(fc.property(
    fc.constantFrom<PanelKind>('training', 'risk', 'frequency'),
    fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom(...HOSTILE), fc.string({ unit: 'grapheme', maxLength: 40 })),
    fc.constantFrom(...SOURCES),
    (kind, title, src) => {
      const nonce = newNonce();
      const html = panelHtml({ kind, title, nonce, cspSource: src, uri: (...p) => `${src}/ext/${p.map(encodeURIComponent).join('/')}` });
      const csps = [...html.matchAll(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/g)];
      assert.equal(csps.length, 1, 'one CSP');
      const csp = csps[0][1].replace(/&amp;/g, '&');
      assert.equal(csp, contentSecurityPolicy(src, nonce));
      const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...v]) => [name, v]));
      assert.deepEqual([...directives.keys()].sort(), ['default-src', 'font-src', 'img-src', 'script-src', 'style-src']);
      assert.deepEqual(directives.get('default-src'), ["'none'"]);
      assert.deepEqual(directives.get('script-src'), [`'nonce-${nonce}'`]);
      assert.deepEqual(directives.get('style-src'), [src, `'nonce-${nonce}'`]);
      assert.deepEqual(directives.get('img-src'), [src, 'data:']);
      assert.deepEqual(directives.get('font-src'), [src]);
      for (const values of directives.values()) {
        for (const v of values) {
          const schemeWide = /^[a-z][a-z0-9+.-]*:$/i.test(v) && v !== 'data:';
          assert.ok(v !== '*' && !schemeWide && !v.startsWith("'unsafe-") && v !== "'strict-dynamic'", `no wildcard, scheme-wide or unsafe source: ${v}`);
        }
      }
      // The title adds no element: the shell's own tags only, each script/stylesheet with the nonce, from the webview source.
      assert.equal((html.match(/<script\b/g) ?? []).length, 1);
      assert.equal((html.match(/<meta\b/g) ?? []).length, 4);
      assert.equal((html.match(/<link\b/g) ?? []).length, 2);
      assert.equal((html.match(/<img\b|<iframe\b|<object\b|<embed\b|<base\b|<form\b/g) ?? []).length, 0);
      for (const tag of html.match(/<(script|link)\b[^>]*>/g) ?? []) {
        assert.ok(tag.includes(` nonce="${nonce}"`), tag);
        assert.match(tag, new RegExp(`(src|href)="${src.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/ext/`), tag);
      }
      for (const tag of html.match(/<[a-z][^>]*>/gi) ?? []) assert.doesNotMatch(tag, /\son\w+=|javascript:|\sstyle=/i, `no inline handlers or styles: ${tag}`);
      assert.match(html, /<script nonce="[^"]+" src="[^"]+"><\/script>/, 'the script has no inline body');
    },
  ), { numRuns: 500 });
});

test('nonces: 128 bits from the CSPRNG in base64, never repeated', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const n = newNonce();
    assert.match(n, /^[A-Za-z0-9+/]{22}==$/);
    assert.ok(!seen.has(n));
    seen.add(n);
  }
});
