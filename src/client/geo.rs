//! One location fix from the browser, for a location sign-in or for the lead to set the fence — never a
//! watch, never a track. Asked for only after the person's separate consent (members) or tap (leads).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// One fix in WGS-84: (latitude, longitude, accuracy in metres).
pub async fn one_fix() -> Result<(f64, f64, f64), String> {
    let unavailable = |_| "此浏览器无法获取位置，请改用签到码".to_owned();
    let geo = leptos::prelude::window()
        .navigator()
        .geolocation()
        .map_err(unavailable)?;
    let options = web_sys::PositionOptions::new();
    options.set_enable_high_accuracy(true);
    options.set_timeout(20_000);
    options.set_maximum_age(0);
    let mut asked = Ok(());
    let fix = js_sys::Promise::new(&mut |resolve, reject| {
        asked = geo.get_current_position_with_error_callback_and_options(
            &resolve,
            Some(&reject),
            &options,
        );
    });
    asked.map_err(unavailable)?;
    let position: web_sys::Position = JsFuture::from(fix)
        .await
        .map_err(|_| "未能获取位置：请在浏览器设置中允许红雁使用位置，或改用签到码".to_owned())?
        .unchecked_into();
    let c = position.coords();
    Ok((c.latitude(), c.longitude(), c.accuracy()))
}
