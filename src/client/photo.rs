//! Evidence photos, made small on the phone before they are kept or sent: a certificate photographed at
//! 12 megapixels becomes a JPEG of a few hundred kilobytes at most, as a `data:` URL (which the page's CSP
//! allows for images and localStorage can hold while the phone is offline).

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageBitmap};

use crate::study::MAX_EVIDENCE_CHARS;

/// Longest side tried, largest first, until the photo fits.
const SIDES: [f64; 4] = [1600.0, 1280.0, 960.0, 720.0];

/// The photo as a JPEG `data:` URL no longer than [`MAX_EVIDENCE_CHARS`].
pub async fn shrink(file: web_sys::File) -> Result<String, String> {
    const UNREADABLE: &str = "无法读取这张照片，请换一张（JPEG或PNG）";
    let promise = window()
        .create_image_bitmap_with_blob(&file)
        .map_err(|_| UNREADABLE)?;
    let bitmap: ImageBitmap = JsFuture::from(promise)
        .await
        .map_err(|_| UNREADABLE)?
        .unchecked_into();
    let (w, h) = (f64::from(bitmap.width()), f64::from(bitmap.height()));
    for side in SIDES {
        let scale = (side / w.max(h)).min(1.0);
        let url = draw(&bitmap, (w * scale).round(), (h * scale).round())
            .map_err(|_| "照片处理失败，请换一张".to_owned())?;
        if url.len() <= MAX_EVIDENCE_CHARS {
            return Ok(url);
        }
    }
    Err("照片过大，请裁剪后再选".to_owned())
}

fn draw(bitmap: &ImageBitmap, w: f64, h: f64) -> Result<String, JsValue> {
    let canvas: HtmlCanvasElement = document().create_element("canvas")?.unchecked_into();
    canvas.set_width(w as u32);
    canvas.set_height(h as u32);
    let ctx: CanvasRenderingContext2d = canvas
        .get_context("2d")?
        .ok_or_else(|| JsValue::from_str("no 2d context"))?
        .unchecked_into();
    ctx.draw_image_with_image_bitmap_and_dw_and_dh(bitmap, 0.0, 0.0, w, h)?;
    canvas.to_data_url_with_type_and_encoder_options("image/jpeg", &JsValue::from_f64(0.7))
}
