// mko web: the few live parts of the server-rendered pages. No build step, no framework.
'use strict';
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

  // A token below what a route needs: the buttons and forms that call it are disabled and say what
  // they need, rather than ending in the API's 403. The table is the API's own (data-routes).
  const RANK = { read: 0, operate: 1, admin: 2 };
  const scope = document.body.getAttribute('data-scope');
  const routes = JSON.parse(document.body.getAttribute('data-routes') || '[]').map(([method, pattern, need]) => [method, new RegExp(pattern), need]);
  function scopeNeeded(method, url) {
    const path = new URL(url, window.location.href).pathname;
    const need = routes.find(([m, pattern]) => m === method.toUpperCase() && pattern.test(path))?.[2];
    return need && RANK[scope] < RANK[need] ? need : null;
  }
  function disableOutOfScope(root) {
    if (!scope) return;
    const mark = (element, need) => {
      element.disabled = true;
      element.setAttribute('data-needs-scope', need);
      element.title = `needs a token with the ${need} scope (this one has ${scope})`;
    };
    for (const button of root.querySelectorAll('button[data-action]')) {
      const need = scopeNeeded(button.getAttribute('data-method') ?? 'POST', button.getAttribute('data-action'));
      if (need) mark(button, need);
    }
    for (const form of root.querySelectorAll('form[data-api]')) {
      const need = scopeNeeded(form.getAttribute('data-method') ?? 'POST', form.getAttribute('data-api'));
      if (!need) continue;
      for (const element of form.elements) element.disabled = true;
      mark(form.querySelector('[type=submit]') ?? form, need);
    }
  }
  disableOutOfScope(document);

  /** Call the API as the logged-in browser; a refusal throws its message, with the field it names. */
  async function api(method, url, body) {
    const response = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    const data = response.status === 204 ? {} : await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) throw Object.assign(new Error(data.error ?? `HTTP ${response.status}`), { field: data.field ?? null });
    return data;
  }

  /** `a.b.c` of an answer. */
  const pick = (value, path) => path.split('.').reduce((v, key) => (v == null ? undefined : v[key]), value);

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

  /**
   * An operation's events (SSE): log text as it is written, then its end. EventSource reconnects
   * by itself and sends Last-Event-ID, so the server goes on where the log was.
   */
  function operationEvents(url, { onLog, onEnd }) {
    const source = new EventSource(url);
    source.addEventListener('log', (e) => onLog?.(JSON.parse(e.data).text));
    source.addEventListener('end', (e) => {
      source.close();
      onEnd?.(JSON.parse(e.data));
    });
    return source;
  }

  /** Follow an operation into the page's follow section. */
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
    operationEvents(`/api/v1/operations/${operationId}/events`, {
      onLog: (text) => {
        log.textContent += text;
        log.scrollTop = log.scrollHeight;
      },
      onEnd: (end) => {
        status.textContent = end.status;
        status.className = `badge status-${end.status}`;
        onEnd?.(end);
      },
    });
  }

  const setBadge = (element, text, kind) => {
    element.textContent = text;
    element.className = `badge ${kind}`;
  };

  /** Re-read the parts of the page the server renders alone (data-live, data-part). */
  let refreshing = false;
  async function refreshParts() {
    if (refreshing) return;
    refreshing = true;
    try {
      for (const part of document.querySelectorAll('[data-live], [data-part]')) {
        const response = await fetch(part.getAttribute('data-live') ?? part.getAttribute('data-part'), { credentials: 'same-origin' });
        // Sent to the login page: the session ended (its token revoked, perhaps from this page).
        if (response.redirected) {
          window.location.href = response.url;
          return;
        }
        if (response.ok) {
          part.innerHTML = await response.text();
          disableOutOfScope(part);
        }
      }
      tickAges();
    } finally {
      refreshing = false;
    }
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
    const button = target?.closest('button[data-action]');
    if (!button) return;
    const question = button.getAttribute('data-confirm');
    if (question && !(await confirmDialog(question, button.getAttribute('data-warning')))) return;
    const body = JSON.parse(button.getAttribute('data-body') ?? '{}');
    if (question) body.confirm = true;
    const wake = button.hasAttribute('data-wake') ? button.parentElement.querySelector('[data-wake-state]') : null;
    const result = button.parentElement.querySelector('[data-result]');
    if (result) result.textContent = '';
    button.disabled = true;
    if (wake) setBadge(wake, 'pending', 'pending');
    try {
      const answer = await api(button.getAttribute('data-method') ?? 'POST', button.getAttribute('data-action'), body);
      if (button.hasAttribute('data-follow') && answer.operationId) {
        follow(answer.operationId, (end) => {
          button.disabled = false;
          if (wake) setBadge(wake, end.status === 'succeeded' ? 'up' : 'failed', end.status === 'succeeded' ? 'up' : 'failed');
          // What the run stored (doctor's results, auto-sleep's state) re-rendered by the server.
          if (button.hasAttribute('data-refresh')) void refreshParts();
        });
        return;
      }
      if (result && answer.operationId) {
        // A check that runs as an operation (Proxmox's test connection): its end is the answer.
        setBadge(result, 'testing…', 'pending');
        operationEvents(answer.events ?? `/api/v1/operations/${answer.operationId}/events`, {
          onEnd: (end) => {
            const ok = end.status === 'succeeded';
            setBadge(result, ok ? 'ok' : `failed${end.exitMeaning ? `: ${end.exitMeaning}` : ''}`, ok ? 'up' : 'failed');
            result.title = `operation ${answer.operationId}`;
            button.disabled = false;
          },
        });
        return;
      }
      if (result) result.textContent = answer.summary ?? answer.status ?? 'ok';
      if (button.hasAttribute('data-reload')) {
        window.location.reload();
        return;
      }
      if (button.hasAttribute('data-refresh')) await refreshParts();
    } catch (error) {
      if (result) result.textContent = error.message;
      else window.alert(error.message);
      if (wake) setBadge(wake, 'failed', 'failed');
    }
    button.disabled = false;
  });

  /** A form field's text as the API takes it (data-type): true/false, a comma-separated list, one JSON list a line. */
  function typedValue(element, text) {
    const type = element.getAttribute('data-type');
    if (type === 'boolean') return text === 'true';
    if (type === 'list') return text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    if (type === 'json-lines') {
      return text.split('\n').filter((line) => line.trim() !== '').map((line) => {
        try {
          return JSON.parse(line);
        } catch {
          throw Object.assign(new Error(`${element.name}: ${line.trim()} is not JSON: write a list like ["pgrep","-x","rsync"]`), { field: element.name });
        }
      });
    }
    return element.type === 'number' ? Number(text) : text;
  }

  // Forms that call the API (data-api, data-method): empty fields are left out (or sent as null to
  // drop a rule's optional setting, data-empty="null"); number inputs are sent as numbers.
  document.addEventListener('submit', async (event) => {
    const form = event.target instanceof Element ? event.target.closest('form[data-api]') : null;
    if (!form) return;
    event.preventDefault();
    const body = {};
    const error = form.querySelector('[data-form-error]');
    const submit = form.querySelector('[type=submit]');
    if (error) error.textContent = '';
    if (submit) submit.disabled = true;
    try {
      for (const element of form.elements) {
        if (!element.name || element.disabled) continue;
        element.removeAttribute('aria-invalid');
        const text = element.type === 'checkbox' ? element.checked : element.value.trim();
        if (text === '') {
          if (form.getAttribute('data-empty') === 'null') body[element.name] = null;
          continue;
        }
        body[element.name] = typedValue(element, text);
      }
      const answer = await api(form.getAttribute('data-method') ?? 'POST', form.getAttribute('data-api'), body);
      const then = form.getAttribute('data-then');
      if (then) {
        window.location.href = then.replace(/\{([\w.]+)\}/g, (_, path) => encodeURIComponent(String(pick(answer, path) ?? '')));
        return;
      }
      if (form.hasAttribute('data-reload')) {
        window.location.reload();
        return;
      }
      const show = form.getAttribute('data-show');
      const shown = show ? document.querySelector(show) : null;
      if (shown) {
        for (const field of shown.querySelectorAll('[data-field]')) field.textContent = String(pick(answer, field.getAttribute('data-field')) ?? '');
        shown.hidden = false;
      }
      form.reset();
      if (form.hasAttribute('data-refresh')) await refreshParts();
    } catch (failure) {
      if (error) error.textContent = failure.message;
      else window.alert(failure.message);
      const name = typeof failure.field === 'string' ? failure.field.replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase()) : '';
      const input = name ? form.elements.namedItem(name) : null;
      if (input instanceof Element) {
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
    } finally {
      if (submit) submit.disabled = false;
    }
  });

  // "read N s ago": the server says how old a reading was; the page keeps counting.
  function tickAges() {
    const now = Date.now();
    for (const element of document.querySelectorAll('[data-age]')) {
      if (!element.dataset.t0) element.dataset.t0 = String(now);
      const age = Number(element.dataset.age) + Math.floor((now - Number(element.dataset.t0)) / 1000);
      element.textContent = String(age);
      const limit = Number(element.dataset.staleAfter);
      if (!limit) continue;
      const stale = age > limit;
      // The server says only what changed: a reading that merely got older may have been renewed.
      // When the count passes the limit, ask the server once for the true age.
      if (stale && Number(element.dataset.age) <= limit && !element.dataset.asked) {
        element.dataset.asked = 'true';
        void refreshParts();
      }
      element.parentElement?.querySelector('[data-stale-mark]')?.toggleAttribute('hidden', !stale);
      element.closest('.ups')?.classList.toggle('stale', stale);
    }
  }
  setInterval(tickAges, 1000);

  // Parts of a page that re-render on the server when the fleet changes (one stream per page).
  if (document.querySelector('[data-live]') && typeof EventSource === 'function') {
    new EventSource('/api/v1/events').addEventListener('change', refreshParts);
  }

  // An operation page: a running operation's log goes on from where the server's copy ended.
  const operationLog = document.querySelector('[data-operation-log]');
  if (operationLog && operationLog.getAttribute('data-running') === 'true' && typeof EventSource === 'function') {
    const id = operationLog.getAttribute('data-operation-log');
    const from = operationLog.getAttribute('data-log-offset') ?? '0';
    operationEvents(`/api/v1/operations/${id}/events?from=${encodeURIComponent(from)}`, {
      onLog: (text) => {
        const atEnd = operationLog.scrollTop + operationLog.clientHeight >= operationLog.scrollHeight - 24;
        operationLog.textContent += text;
        if (atEnd) operationLog.scrollTop = operationLog.scrollHeight;
      },
      onEnd: async (end) => {
        const summary = document.querySelector('[data-operation-summary]');
        const response = summary ? await fetch(summary.getAttribute('data-operation-summary'), { credentials: 'same-origin' }).catch(() => null) : null;
        if (summary && response?.ok) {
          summary.innerHTML = await response.text();
          disableOutOfScope(summary);
        }
        else document.querySelectorAll('[data-operation-status]').forEach((badge) => setBadge(badge, end.status, `status-${end.status}`));
        await refreshParts();
      },
    });
  }
})();
