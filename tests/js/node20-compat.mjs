// Node 20 compatibility shim.
//
// Recent patch releases of libp2p 2.x's transitive dependencies (mortice ->
// it-queue, used by @libp2p/peer-store) call Promise.withResolvers(), which
// only exists natively from Node 22. The harness must run on Node 20, so
// install the standard polyfill when it is missing. No-op on Node >= 22.
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers () {
      let resolve
      let reject
      const promise = new this((res, rej) => { resolve = res; reject = rej })
      return { promise, resolve, reject }
    }
  })
}
