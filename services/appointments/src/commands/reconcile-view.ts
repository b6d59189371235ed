import type { ReconcileAppointment, ReconcileViewReply, ReconcileViewRequest } from '@calsync/contracts'
import type { AppointmentsStore } from '../appointments/appointments-store.ts'

/** One reply's worth of window appointments; a larger window is compared over several passes. */
const MAX_WINDOW_APPOINTMENTS = 2000
const PAGE = 500
const PARALLEL = 16

/**
 * What calsync knows about the bookings a reconcile pass saw on Cal.com: the appointments their
 * uids are linked to, the ones their metadata names, and every appointment starting in the window,
 * each with its booking chain and whether a change of it is still on its way (then the reconciler
 * leaves it for its next pass rather than judge it from a half-told story).
 */
export function createReconcileView(deps: { store: AppointmentsStore }) {
  const { store } = deps

  async function describe(tenantId: string, id: string, asOf: number): Promise<ReconcileAppointment | undefined> {
    const [doc, state] = await Promise.all([store.current(tenantId, id), store.syncState(tenantId, id)])
    if (!doc) return undefined
    const settling =
      !state ||
      state.version < doc.version ||
      state.awaiting !== null ||
      state.status === 'pending' ||
      Date.parse(doc.updatedAt) >= asOf ||
      Date.parse(state.updatedAt) >= asOf
    return {
      id: doc._id,
      status: doc.status,
      start: doc.start,
      syncStatus: state?.status ?? 'pending',
      currentUid: state?.calcomBookingUid ?? null,
      uids: (state?.chain ?? []).map((link) => link.uid),
      settling,
    }
  }

  return {
    async view(request: ReconcileViewRequest): Promise<ReconcileViewReply> {
      const { tenantId } = request
      const asOf = Date.parse(request.asOf)
      const ids = new Set(request.appointmentIds)
      const linked = await Promise.all(request.uids.map((uid) => store.linkedAppointmentId(tenantId, uid)))
      for (const id of linked) if (id) ids.add(id)
      let truncated = false
      let after: { start: string; id: string } | undefined
      let inWindow = 0
      for (;;) {
        const page = await store.list(tenantId, {
          from: request.window.from,
          to: request.window.to,
          limit: PAGE,
          ...(after ? { after } : {}),
        })
        for (const doc of page) ids.add(doc._id)
        inWindow += page.length
        const last = page.at(-1)
        if (page.length < PAGE || !last) break
        if (inWindow >= MAX_WINDOW_APPOINTMENTS) {
          truncated = true
          break
        }
        after = { start: last.start, id: last._id }
      }
      const appointments: ReconcileAppointment[] = []
      // A few at a time: one by one, a tenant's hundreds took past the command's timeout under load.
      const all = [...ids]
      for (let from = 0; from < all.length; from += PARALLEL) {
        const found = await Promise.all(all.slice(from, from + PARALLEL).map((id) => describe(tenantId, id, asOf)))
        for (const item of found) if (item) appointments.push(item)
      }
      return { appointments, truncated }
    },
  }
}

export type ReconcileView = ReturnType<typeof createReconcileView>
