// What every panel page has around its content: a heading naming the domain,
// the agent connection's state (a live region), errors (an alert) with a
// Retry button when the agent cannot be reached, and the bridge to the host.

import { connect, type Bridge } from './bridge';
import type { LinkState, PanelKind, ToWebview } from './shared/messages';
import { button, h, replaceChildren, useToolkit } from './ui';

const LINK_TEXT: Record<LinkState, string> = {
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'connection lost, reconnecting…',
  disconnected: 'disconnected',
  error: 'cannot reach the agent',
};

export interface Shell {
  readonly bridge: Bridge;
  readonly content: HTMLElement;
  showError(message: string): void;
}

/**
 * Builds the page and connects it. `onMessage` gets every validated message
 * but `link`; the shell shows the connection state and the errors itself.
 */
export function startPanel(kind: PanelKind, name: string, onMessage: (m: ToWebview, shell: Shell) => void): Shell {
  useToolkit();
  const app = document.getElementById('app') ?? document.body.appendChild(h('main', { id: 'app' }));
  const title = h('h1', {}, name);
  const link = h('span', { class: 'link', role: 'status', 'aria-live': 'polite', 'data-state': 'connecting' }, LINK_TEXT.connecting);
  const errors = h('div', { class: 'errors', role: 'alert' });
  const retry = button({ label: 'Retry', secondary: true, onClick: () => shell.bridge.send({ type: 'retry' }) });
  retry.el.hidden = true;
  const content = h('div', { class: 'content' });
  replaceChildren(app, h('header', {}, title, link, retry.el), errors, content);
  app.removeAttribute('aria-busy');

  const showError = (message: string) => {
    const item = h('p', { class: 'error' }, message);
    errors.append(item);
    while (errors.childElementCount > 3) errors.firstElementChild?.remove();
  };
  const shell: Shell = {
    content,
    showError,
    bridge: connect(kind, {
      invalid: (e) => showError(`Ignored a malformed message from the extension: ${e}`),
      message: (m) => {
        switch (m.type) {
          case 'init':
            title.textContent = `${name}: ${m.ref.domain}`;
            title.setAttribute('title', `${m.ref.domain} on ${m.ref.hostId}`);
            document.title = `${name}: ${m.ref.domain} (${m.ref.hostId})`;
            errors.replaceChildren();
            return onMessage(m, shell);
          case 'link':
            link.textContent = `${LINK_TEXT[m.state]}${m.message ? `: ${m.message}` : ''}`;
            link.setAttribute('data-state', m.state);
            retry.el.hidden = m.state !== 'error' && m.state !== 'disconnected';
            if (m.state === 'connected') errors.replaceChildren();
            return;
          case 'error':
            showError(m.message);
            return onMessage(m, shell);
          default:
            return onMessage(m, shell);
        }
      },
    }),
  };
  return shell;
}
