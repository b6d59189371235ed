;(() => {
  const KEY = 'calsync-review-token'
  const REFRESH_MS = 5000
  const KIND_LABELS = {
    sync_failed: 'sync failed',
    double_booking: 'double booking',
    unmapped_event_type: 'unmapped event type',
    poison_message: 'poison message',
    unapplied_webhook: 'webhook not applied',
    drift: 'calsync and Cal.com apart',
    webhook_silence: 'webhooks silent',
  }
  // Their retry republishes the stored message (the API reads it by stream and sequence).
  const REPLAYED_KINDS = new Set(['poison_message', 'unapplied_webhook'])
  const $ = (id) => document.getElementById(id)
  let busy = false
  let again = false

  // All data reaches the page through textContent: nothing from the API is parsed as HTML.
  function el(tag, options = {}, children = []) {
    const node = document.createElement(tag)
    if (options.text !== undefined) node.textContent = String(options.text)
    if (options.className) node.className = options.className
    if (options.title) node.title = String(options.title)
    for (const child of children) node.append(child)
    return node
  }

  const token = () => sessionStorage.getItem(KEY)

  class ApiError extends Error {
    constructor(status, body) {
      super(body?.message ? `${body.error}: ${body.message}` : `HTTP ${status}`)
      this.status = status
    }
  }

  async function api(method, path, body) {
    const headers = { authorization: `Bearer ${token()}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    const data = await response.json().catch(() => null)
    if (!response.ok) throw new ApiError(response.status, data)
    return data
  }

  function showLogin(message) {
    $('app').hidden = true
    $('refresh').hidden = true
    $('signout').hidden = true
    $('login').hidden = false
    $('login-error').hidden = !message
    $('login-error').textContent = message || ''
    $('token').focus()
  }

  function showError(message) {
    $('error').hidden = !message
    $('error').textContent = message || ''
  }

  function age(iso) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))
    if (seconds < 60) return `${seconds}s`
    if (seconds < 3600) return `${Math.floor(seconds / 60)}m`
    if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`
    return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`
  }

  const ms = (value) => (value === null ? '–' : value < 1000 ? `${value} ms` : `${(value / 1000).toFixed(1)} s`)

  function renderStats(stats) {
    const card = (label, value, tone) =>
      el('div', { className: 'panel card' }, [
        el('div', { className: 'label', text: label }),
        el('div', { className: `value ${tone || ''}`, text: value }),
      ])
    const rate = stats.successRate === null ? '–' : `${(stats.successRate * 100).toFixed(1)}%`
    $('stats').replaceChildren(
      card('Total', stats.total),
      card('Synced', stats.synced, 'ok'),
      card('Pending', stats.pending),
      card('Failed', stats.failed, stats.failed > 0 ? 'bad' : ''),
      card('Conflict', stats.conflict, stats.conflict > 0 ? 'bad' : ''),
      card('Success rate', rate),
      card('Latency p50', ms(stats.latencyMs.p50)),
      card('Latency p95', ms(stats.latencyMs.p95)),
      card('Latency p99', ms(stats.latencyMs.p99)),
    )
    const codes = Object.entries(stats.failuresByCode)
    const parts = codes.length === 0 ? [el('span', { text: 'No terminal failures in the window.' })] : []
    if (codes.length > 0) parts.push(el('span', { text: 'Failures by code: ' }))
    codes.forEach(([code, count], index) => {
      if (index > 0) parts.push(', ')
      parts.push(el('code', { text: code }), ` × ${count}`)
    })
    $('codes').replaceChildren(...parts)
  }

  function stateOf(item) {
    if (!item.retry) return null
    if (item.retry.outcome === 'pending') return el('div', { className: 'state', text: 'retrying…' })
    if (item.retry.outcome === 'failed') return el('div', { className: 'state failed', text: 'retry failed' })
    if (item.retry.outcome === 'not_dispatched') {
      return el('div', { className: 'state failed', text: 'retry found nothing to re-drive' })
    }
    return null
  }

  function row(item) {
    const retrying = item.retry?.outcome === 'pending'
    const retry = el('button', { text: 'Retry' })
    retry.type = 'button'
    retry.dataset.action = 'retry'
    // A retry still pending after a minute may have been lost (e.g. calcom-sync was down): allow another.
    const recent = retrying && Date.now() - Date.parse(item.retry.requestedAt) < 60_000
    const replayed = REPLAYED_KINDS.has(item.kind)
    retry.disabled = recent || (!replayed && item.appointmentIds.length === 0)
    if (replayed) retry.title = 'Publish the stored message again to its subject'
    else if (item.appointmentIds.length === 0) retry.title = 'Nothing to retry: no appointment'
    retry.addEventListener('click', () =>
      act(retry, () => api('POST', `/v1/review-items/${encodeURIComponent(item.id)}/retry`)),
    )
    const resolve = el('button', { text: 'Resolve' })
    resolve.type = 'button'
    resolve.dataset.action = 'resolve'
    resolve.addEventListener('click', () => {
      const note = window.prompt('Resolve this item. What was done? (required)')
      if (note === null) return
      if (note.trim() === '') return showError('A note is required to resolve an item.')
      act(resolve, () => api('POST', `/v1/review-items/${encodeURIComponent(item.id)}/resolve`, { note: note.trim() }))
    })
    const history = el('button', { text: 'History' })
    history.type = 'button'
    history.dataset.action = 'history'
    history.addEventListener('click', () => showHistory(item))
    const ids =
      item.appointmentIds.length === 0
        ? [el('span', { className: 'muted', text: '—' })]
        : item.appointmentIds.map((id) => el('code', { text: id }))
    const error = [
      el('div', { className: 'code', text: item.errorCode }),
      el('div', { className: 'msg', text: item.errorMessage }),
    ]
    const state = stateOf(item)
    if (state) error.push(state)
    const tr = el('tr', {}, [
      el('td', { className: 'tenant', text: item.tenantId }),
      el('td', {}, [
        el('span', { className: `kind ${item.kind}`, text: KIND_LABELS[item.kind] || item.kind.replaceAll('_', ' ') }),
      ]),
      el('td', { className: 'ids' }, ids),
      el('td', { className: 'err' }, error),
      el('td', { className: 'num', text: item.attempts }),
      el('td', { className: 'num', text: age(item.createdAt), title: item.createdAt }),
      el('td', { className: 'actions' }, [history, retry, resolve]),
    ])
    tr.dataset.id = item.id
    tr.dataset.kind = item.kind
    if (retrying) tr.dataset.state = 'retrying'
    return tr
  }

  /** The story of an item's appointments, as the API tells it, below the queue. */
  async function showHistory(item) {
    $('history-of').textContent = `${KIND_LABELS[item.kind] || item.kind} · ${item.tenantId}`
    $('history-body').replaceChildren(el('div', { className: 'muted', text: 'loading…' }))
    $('history').hidden = false
    try {
      const story = await api('GET', `/v1/review-items/${encodeURIComponent(item.id)}/history`)
      const parts =
        story.appointments.length > 0 ? story.appointments : [{ appointmentId: null, entries: story.entries ?? [] }]
      $('history-body').replaceChildren(
        ...parts.map((part) =>
          el('div', { className: 'story' }, [
            el('h3', { text: part.appointmentId ?? 'no appointment' }),
            el(
              'ol',
              {},
              part.entries.map((entry) =>
                el('li', { className: `entry ${entry.what}` }, [
                  el('span', { className: 'when', text: new Date(entry.at).toLocaleString(), title: entry.at }),
                  el('span', { className: 'what', text: entry.what.replaceAll('_', ' ') }),
                  el('span', { className: 'detail', text: entry.detail }),
                  el('span', { className: 'who muted', text: entry.who }),
                  ...(entry.bookingUid ? [el('code', { text: entry.bookingUid })] : []),
                ]),
              ),
            ),
          ]),
        ),
      )
    } catch (error) {
      $('history-body').replaceChildren(el('div', { className: 'notice', text: error.message }))
    }
  }

  async function act(button, run) {
    button.disabled = true
    try {
      await run()
      showError('')
    } catch (error) {
      showError(error.message)
    }
    await refresh()
  }

  async function refresh() {
    if (!token()) return
    // One refresh at a time; a refresh asked for meanwhile (after an action) runs right after.
    if (busy) {
      again = true
      return
    }
    busy = true
    try {
      const [queue, stats] = await Promise.allSettled([
        api('GET', '/v1/review-items?status=open&limit=200'),
        api('GET', '/v1/stats/sync?window=24h'),
      ])
      const unauthorized = [queue, stats].some((r) => r.status === 'rejected' && r.reason.status === 401)
      if (unauthorized) {
        sessionStorage.removeItem(KEY)
        return showLogin('That token was not accepted.')
      }
      $('login').hidden = true
      $('app').hidden = false
      $('refresh').hidden = false
      $('signout').hidden = false
      const problems = []
      if (queue.status === 'fulfilled') {
        const items = queue.value.items
        $('rows').replaceChildren(...items.map(row))
        $('queue').hidden = items.length === 0
        $('empty').hidden = items.length > 0
        $('count').textContent = queue.value.nextCursor
          ? `${items.length}+ items`
          : `${items.length} item${items.length === 1 ? '' : 's'}`
      } else problems.push(`queue: ${queue.reason.message}`)
      if (stats.status === 'fulfilled') renderStats(stats.value)
      else problems.push(`stats: ${stats.reason.message}`)
      showError(problems.join(' · '))
      $('updated').textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ${REFRESH_MS / 1000} s`
    } finally {
      busy = false
    }
    if (again) {
      again = false
      await refresh()
    }
  }

  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const value = $('token').value.trim()
    if (!value) return
    sessionStorage.setItem(KEY, value)
    $('token').value = ''
    refresh()
  })
  $('refresh').addEventListener('click', () => refresh())
  $('history-close').addEventListener('click', () => {
    $('history').hidden = true
  })
  $('signout').addEventListener('click', () => {
    sessionStorage.removeItem(KEY)
    showLogin('')
  })
  setInterval(() => {
    if (!document.hidden) refresh()
  }, REFRESH_MS)
  if (token()) refresh()
  else showLogin('')
})()
