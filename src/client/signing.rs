//! Signing records on the phone, so that whoever carries them cannot alter them: a key per person and
//! phone, made and kept by the browser (`signing.js`: WebCrypto ECDSA P-256 in IndexedDB, the private half
//! never leaves it). Its public half is registered with the server after logging in; from then on every
//! record is signed before it is pushed or exported ([`crate::api::Mutation::signed_text`]).
//!
//! A browser without WebCrypto or IndexedDB (some private modes) still works: its records go unsigned,
//! which the server believes from their author's own session, and no one else may carry most of them.

use wasm_bindgen::prelude::*;

use super::http::{self, ApiError};
use super::store;
use crate::api::{DeviceKey, paths};
use crate::outbox::Entry;

#[wasm_bindgen(module = "/src/client/signing.js")]
extern "C" {
    #[wasm_bindgen(catch, js_name = publicKey)]
    async fn public_key(user: f64) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn sign(user: f64, text: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn forget(user: f64) -> Result<JsValue, JsValue>;
}

/// Makes sure this phone has a key for this person and the server knows it. Offline is reported (sync
/// retries later); a browser that cannot make keys is not an error.
pub async fn ensure_registered(token: &str, user_id: i64) -> Result<(), ApiError> {
    let Ok(key) = public_key(user_id as f64).await else {
        return Ok(());
    };
    let Some(key) = key.as_string() else {
        return Ok(());
    };
    if store::registered_key(user_id).as_deref() == Some(key.as_str()) {
        return Ok(());
    }
    let body = DeviceKey {
        device_id: store::device_id(),
        public_key: key.clone(),
    };
    match http::put::<_, ()>(token, paths::DEVICE_KEY, &body).await {
        Ok(()) => {
            // If this write fails the key is registered again next time, which is harmless.
            let _ = store::set_registered_key(user_id, &key);
            Ok(())
        }
        Err(ApiError::Rejected(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Signs this person's records that are not signed yet, once the server knows their key; answers the
/// entries that changed (to be saved).
pub async fn sign_unsigned(user_id: i64, entries: &[Entry]) -> Vec<Entry> {
    if store::registered_key(user_id).is_none() {
        return Vec::new();
    }
    let device_id = store::device_id();
    let mut signed = Vec::new();
    for entry in entries
        .iter()
        .filter(|e| e.is_pending() && e.mutation.sig.is_empty())
    {
        let text = entry.mutation.signed_text(user_id, &device_id);
        let Ok(sig) = sign(user_id as f64, &text).await else {
            break;
        };
        let Some(sig) = sig.as_string() else { break };
        let mut entry = entry.clone();
        entry.mutation.sig = sig;
        signed.push(entry);
    }
    signed
}

/// Forgets this person's key on this phone.
pub async fn forget_key(user_id: i64) {
    let _ = forget(user_id as f64).await;
}
