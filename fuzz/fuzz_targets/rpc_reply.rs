//! Fuzzes the decoding of the coin daemon's `getblocktemplate` reply.
//!
//! `daemon::rpc::decode_reply` is private, so this target repeats its envelope handling
//! (`{"result": …, "error": null | {…}}` through `serde_json::Value`) and then decodes the result
//! as the public `daemon::BlockTemplate`, as `decode_reply::<BlockTemplate>` does; the bare input
//! is also tried as a template directly (`serde_json::from_slice::<BlockTemplate>`). A decoded
//! template then goes through the pure functions the node applies to it (`work::block`). No
//! input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otedama_node::daemon::BlockTemplate;
use otedama_node::work::block::{coinbase_branch, fit_to_limits, template_txids};
use serde_json::Value;

fn use_template(template: &BlockTemplate) {
    let _ = template.bits_u32();
    let _ = template_txids(template);
    let _ = coinbase_branch(template);
    // A typical coinbase: about 1 kB of weight, a few sigops.
    if let Ok(Some(fitted)) = fit_to_limits(template, 1_000, 4) {
        assert!(fitted.transactions.len() < template.transactions.len());
        assert!(fitted.coinbase_value <= template.coinbase_value);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(template) = serde_json::from_slice::<BlockTemplate>(data) {
        use_template(&template);
    }

    let Ok(reply) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let error = reply.get("error").unwrap_or(&Value::Null);
    if !error.is_null() {
        let _ = error.get("code").and_then(Value::as_i64);
        let _ = error.get("message").and_then(Value::as_str);
        return;
    }
    if let Some(result) = reply.get("result").cloned() {
        if let Ok(template) = serde_json::from_value::<BlockTemplate>(result) {
            use_template(&template);
        }
    }
});
