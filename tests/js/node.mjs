// Shared js-libp2p node configuration for the Otedama interop harness.
//
// Both interop.mjs (the CLI driven by the Rust integration test) and
// selftest.mjs (the JS-only self test) build their nodes here so that the
// self test exercises exactly the configuration the Rust side talks to.

import './node20-compat.mjs'
import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'

export const DEFAULT_KAD_PROTOCOL = '/otedama/kad/1.0.0'

/**
 * Create (and start) a libp2p node listening on loopback.
 *
 * @param {object} [opts]
 * @param {string} [opts.kadProtocol] Kademlia protocol id (KadDHTInit.protocol)
 * @param {string[]} [opts.listen] listen multiaddrs
 * @param {string} [opts.identifyProtocolVersion] protocolVersion sent in
 *   identify (js default: 'ipfs/0.1.0'; Otedama nodes send '/otedama/1.0.0')
 */
export async function createNode (opts = {}) {
  const kadProtocol = opts.kadProtocol ?? DEFAULT_KAD_PROTOCOL
  const node = await createLibp2p({
    start: false,
    addresses: {
      listen: opts.listen ?? ['/ip4/127.0.0.1/tcp/0']
    },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      // kad-dht >= 15 checks new routing-table contacts with /ipfs/ping/1.0.0
      // (it declares '@libp2p/ping' as a service dependency).
      ping: ping(),
      dht: kadDHT({
        protocol: kadProtocol,
        // Server mode: register the kad protocol handler (and so advertise it
        // in identify) even though we only have loopback addresses. The
        // default (undefined) auto-switches to client mode without public
        // addresses.
        clientMode: false,
        // The default mapper (removePrivateAddressesMapper) drops loopback /
        // private addresses, so loopback peers would never enter the routing
        // table nor be returned from FIND_NODE.
        peerInfoMapper: passthroughMapper
      }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false
        // globalSignaturePolicy left at the default: 'StrictSign'
      })
    }
  })
  if (opts.identifyProtocolVersion != null) {
    // @libp2p/identify has no init option for this string (it derives it from
    // protocolPrefix, which also renames the identify protocol itself).
    node.services.identify.host.protocolVersion = opts.identifyProtocolVersion
  }
  await node.start()
  return node
}
