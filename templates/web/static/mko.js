// mko web: the few live parts of the server-rendered pages. No build step, no framework.
'use strict';
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

  async function api(method, url, body) {
    const response = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    const data = response.status === 204 ? {} : await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) throw new Error(data.error ?? `HTTP ${response.status}`);
    return data;
  }

  /** Ask in the page's <dialog>; resolves true when confirmed. */
  function confirmDialog(text, warning) {
    const dialog = document.getElementById('confirm');
    if (!dialog || typeof dialog.showModal !== 'function') return Promise.resolve(window.confirm(text));
    dialog.querySelector('[data-confirm-text]').textContent = text;
    const warn = dialog.querySelector('[data-confirm-warning]');
    warn.textContent = warning ?? '';
    warn.hidden = !warning;
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.showModal();
    });
  }

  /** Follow an operation's events (SSE) into the page's follow section. */
  function follow(operationId, onEnd) {
    const section = document.querySelector('[data-follow-target]');
    if (!section) return;
    section.hidden = false;
    const link = section.querySelector('[data-follow-link]');
    link.textContent = `#${operationId}`;
    link.href = `/operations/${operationId}`;
    const log = section.querySelector('[data-follow-log]');
    const status = section.querySelector('[data-follow-status]');
    log.textContent = '';
    status.textContent = 'running';
    status.className = 'badge status-running';
    const source = new EventSource(`/api/v1/operations/${operationId}/events`);
    source.addEventListener('log', (e) => {
      log.textContent += JSON.parse(e.data).text;
      log.scrollTop = log.scrollHeight;
    });
    source.addEventListener('end', (e) => {
      const end = JSON.parse(e.data);
      status.textContent = end.status;
      status.className = `badge status-${end.status}`;
      source.close();
      onEnd?.(end);
    });
  }

  document.addEventListener('click', async (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const copy = target?.closest('[data-copy]');
    if (copy) {
      const text = document.querySelector(copy.getAttribute('data-copy'))?.textContent ?? '';
      await navigator.clipboard?.writeText(text).catch(() => undefined);
      copy.textContent = 'Copied';
      setTimeout(() => (copy.textContent = 'Copy'), 1500);
      return;
    }
    if (target?.closest('[data-logout]')) {
      await api('DELETE', '/api/v1/session').catch(() => undefined);
      window.location.href = '/login';
      return;
    }
    const button = target?.closest('[data-action]');
    if (!button) return;
    const question = button.getAttribute('data-confirm');
    if (question && !(await confirmDialog(question, button.getAttribute('data-warning')))) return;
    const body = JSON.parse(button.getAttribute('data-body') ?? '{}');
    if (question) body.confirm = true;
    const wake = button.hasAttribute('data-wake') ? button.parentElement.querySelector('[data-wake-state]') : null;
    const result = button.parentElement.querySelector('[data-result]');
    button.disabled = true;
    if (wake) { wake.textContent = 'pending'; wake.className = 'badge pending'; }
    try {
      const answer = await api('POST', button.getAttribute('data-action'), body);
      if (result) result.textContent = answer.summary ?? answer.status ?? 'ok';
      if (button.hasAttribute('data-follow') && answer.operationId) {
        follow(answer.operationId, (end) => {
          button.disabled = false;
          if (wake) { wake.textContent = end.status === 'succeeded' ? 'up' : 'failed'; wake.className = `badge ${end.status === 'succeeded' ? 'up' : 'failed'}`; }
        });
        return;
      }
    } catch (error) {
      if (result) result.textContent = error.message;
      else window.alert(error.message);
      if (wake) { wake.textContent = 'failed'; wake.className = 'badge failed'; }
    }
    button.disabled = false;
  });

  // Parts of a page that re-render on the server when the fleet changes (one stream per page).
  const live = [...document.querySelectorAll('[data-live]')];
  if (live.length > 0 && typeof EventSource === 'function') {
    let pending = false;
    const refresh = async () => {
      if (pending) return;
      pending = true;
      try {
        for (const part of live) {
          const response = await fetch(part.getAttribute('data-live'), { credentials: 'same-origin' });
          if (response.ok) part.innerHTML = await response.text();
        }
      } finally {
        pending = false;
      }
    };
    const stream = new EventSource('/api/v1/events');
    stream.addEventListener('change', refresh);
  }
})();
