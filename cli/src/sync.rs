//! `gridsafe enroll`, `sync`, `status`: the phone and the relay.

use crate::ctx::Ctx;
use anyhow::Result;
use gridsafe_core::Store;

/// Enrols this phone with a relay.
pub(crate) fn enroll(
    ctx: &Ctx,
    store: &mut Store,
    server: &str,
    password: Option<String>,
    code: Option<String>,
    device_name: &str,
) -> Result<()> {
    use gridsafe_client::Secret;
    let user = ctx.user()?.to_owned();
    let secret = match (&password, &code) {
        (_, Some(c)) => Secret::Code(c),
        (Some(p), None) => Secret::Password(p),
        (None, None) => anyhow::bail!("give --password (or GRIDSAFE_PASSWORD) or --code"),
    };
    let device = gridsafe_client::enroll_with(store, server, &user, secret, device_name)?;
    ctx.emit(
        &serde_json::json!({"device_id": device, "server": server, "user": user}),
        || format!("已注册 enrolled {user} on {server} as device {device}"),
    )
}

/// Syncs with the relay: records, then photos.
pub(crate) fn sync(ctx: &Ctx, store: &mut Store, originals: bool) -> Result<()> {
    let bar = indicatif::ProgressBar::new_spinner();
    if ctx.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let p = gridsafe_client::sync_all(store, originals, &mut |p| {
        bar.set_message(format!(
            "同步 sync: {} round trips, ↑ {} records, {} photos, {} B, ↓ {} records {} B",
            p.round_trips,
            p.docs_pushed,
            p.photos_uploaded,
            p.bytes_sent,
            p.docs_pulled,
            p.bytes_received
        ));
        bar.tick();
    })?;
    bar.finish_and_clear();
    ctx.emit(&p, || {
                let mut s = format!(
                    "同步完成 synced: {} round trips, ↑ {} records and {} photos ({} B), ↓ {} records ({} B)",
                    p.round_trips, p.docs_pushed, p.photos_uploaded, p.bytes_sent, p.docs_pulled, p.bytes_received
                );
                for (id, why) in &p.refused {
                    s.push_str(&format!("\n  被拒绝 refused {id}: {why}"));
                }
                s
            })
}

/// What is waiting to sync, and when the last sync succeeded.
pub(crate) fn status(ctx: &Ctx, store: &Store) -> Result<()> {
    let st = store.sync_status()?;
    ctx.emit(&st, || {
        format!(
            "待同步 pending: {} records, {} photos; 上次同步 last sync: {}{}",
            st.pending_docs,
            st.pending_photos,
            st.last_sync.as_deref().unwrap_or("never"),
            st.refused
                .iter()
                .map(|r| format!("\n  被拒绝 refused {r}"))
                .collect::<String>()
        )
    })
}
