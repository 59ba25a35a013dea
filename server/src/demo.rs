//! `gridsafe-server demo`: a relay on a fresh data directory, a seeded demo town, and simulated
//! phones that work offline and then sync — so a newcomer sees the whole loop with one command.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::profile::VenueProfile;
use gridsafe_core::records::Responsible;
use gridsafe_core::store::{Action, HazardQuery, NewPhoto, NewVenue};

use crate::store::RelayStore;

pub const DIRECTORY: &[u8] = include_bytes!("../../examples/lvxiang-directory.json");
pub const PASSWORD: &str = "gridsafe-demo";
const GAS_ANSWERS: &str = include_str!("../../examples/answers/gas-restaurant.json");
const EBIKE_ANSWERS: &str = include_str!("../../examples/answers/ebike-shop.json");

/// Seeds the relay's directory and a password for every user.
pub fn seed_relay(data: &Path) -> Result<()> {
    let mut st = RelayStore::open(data)?;
    let d = st.import_directory(DIRECTORY)?;
    for u in &d.users {
        st.set_password(&u.id, PASSWORD)?;
    }
    // The issuing body printed on notices and reports (an administrator's setting).
    if let Some(admin) = d
        .users
        .iter()
        .find(|u| u.role == gridsafe_core::directory::Role::Admin)
    {
        st.set_issuer(
            admin,
            gridsafe_core::issuer::Issuer {
                name_zh: format!("{}安全生产委员会办公室", d.town_zh),
                name_en: "Town Work Safety Committee Office".into(),
                address: format!("金山区{}璜溪路1号", d.town_zh),
                contact: "021-57310000".into(),
                notice_prefix: "吕巷安改".into(),
                public_url: String::new(),
            },
        )?;
    }
    Ok(())
}

/// Camera-sized photos: from `--photos DIR` when given, else generated (12 MP, q90).
#[derive(Debug)]
pub struct Photos {
    files: Vec<Vec<u8>>,
    next: usize,
}

impl Photos {
    pub fn new(dir: Option<&Path>, generated: usize) -> Result<Photos> {
        let mut files = Vec::new();
        if let Some(dir) = dir {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
                .with_context(|| format!("cannot read {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|e| {
                        e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg")
                    })
                })
                .collect();
            paths.sort();
            for p in paths {
                files.push(std::fs::read(&p)?);
            }
            anyhow::ensure!(
                !files.is_empty(),
                "no JPEG photographs in {}",
                dir.display()
            );
        } else {
            for n in 0..generated {
                files.push(synthetic_photo(4000, 3000, n as u32)?);
            }
        }
        Ok(Photos { files, next: 0 })
    }

    fn take(&mut self) -> Vec<u8> {
        let f = self.files[self.next % self.files.len()].clone();
        self.next += 1;
        f
    }
}

/// A camera-like JPEG: sky, a wall, a doorway and noise, so it compresses like a photograph.
pub fn synthetic_photo(w: usize, h: usize, seed: u32) -> Result<Vec<u8>> {
    let mut px = vec![0u8; w * h * 3];
    let mut rng = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    for y in 0..h {
        for x in 0..w {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            let noise = (rng % 24) as i32 - 12;
            let (r, g, b) = if y < h / 3 {
                (120, 160, 210)
            } else if (w * 2 / 5..w * 3 / 5).contains(&x) && y > h / 2 {
                (60, 45, 35)
            } else {
                (
                    170 + ((x / 40 + y / 25) % 2) as i32 * 20,
                    150,
                    130 + (seed % 5) as i32 * 10,
                )
            };
            let i = (y * w + x) * 3;
            px[i] = (r + noise).clamp(0, 255) as u8;
            px[i + 1] = (g + noise).clamp(0, 255) as u8;
            px[i + 2] = (b + noise).clamp(0, 255) as u8;
        }
    }
    let img = turbojpeg::Image {
        pixels: px.as_slice(),
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    Ok(turbojpeg::compress(img, 90, turbojpeg::Subsamp::Sub2x2)?.to_vec())
}

fn answers(
    json: &str,
    overrides: &[(&str, serde_json::Value)],
) -> Result<Vec<(String, serde_json::Value)>> {
    let mut a = gridsafe_core::eval::answers_from_json(json.as_bytes())?;
    for (k, v) in overrides {
        a.retain(|(item, _)| item != k);
        a.push(((*k).to_owned(), v.clone()));
    }
    Ok(a)
}

fn profile(
    types: &[&str],
    gas: &str,
    residents: u32,
    crowded: bool,
    basement: bool,
) -> VenueProfile {
    VenueProfile {
        venue_type: types.iter().map(|s| (*s).to_owned()).collect(),
        floors_above_ground: 2,
        max_floor_area_m2: 110.0,
        building_height_m: 7.5,
        has_basement: basement,
        residents_count: Some(residents),
        is_crowded_place: crowded,
        gas_supply: gas.into(),
        ..Default::default()
    }
}

/// What the simulated phones did.
#[derive(Debug, Default)]
pub struct DemoSummary {
    pub phones: usize,
    pub venues: usize,
    pub inspections: usize,
    pub hazards: usize,
    pub photos: usize,
    pub conflict_hazard: Option<String>,
}

/// One inspector's offline day: venues of every type in their grid, gas and e-bike checklists with
/// photos, a flying lead fixed on the spot (即改), a major candidate for 规建办.
fn inspector_day(
    s: &mut Store,
    user: &str,
    grid: &str,
    photos: &mut Photos,
    sum: &mut DemoSummary,
) -> Result<Vec<String>> {
    let venues = [
        (
            "老街小吃",
            profile(
                &["small_restaurant", "selfbuilt_business"],
                "lpg",
                2,
                true,
                true,
            ),
        ),
        (
            "惠民电动车行",
            profile(&["street_shop"], "none", 0, true, false),
        ),
        (
            "顺发五金店",
            profile(&["street_shop", "three_in_one"], "piped_ng", 3, true, false),
        ),
    ];
    let mut hazards = Vec::new();
    let dir = gridsafe_core::directory::Directory::from_json(DIRECTORY)?;
    let (grid_name, village) = dir.grid(grid).map_or_else(
        || (String::new(), String::new()),
        |g| {
            let village = dir
                .villages
                .iter()
                .find(|v| v.code == g.village)
                .map_or_else(String::new, |v| v.name_zh.clone());
            (g.name_zh.clone(), village)
        },
    );
    const OWNERS: [(&str, &str); 3] = [
        ("赵小明", "13912340001"),
        ("钱丽华", "13912340002"),
        ("孙建军", "13912340003"),
    ];
    for (n, (name, p)) in venues.into_iter().enumerate() {
        let v = s.add_venue(
            user,
            NewVenue {
                name: format!("{name}（{grid_name}）"),
                address: format!("{village}健康路{}号", 10 + n),
                grid_id: grid.into(),
                profile: p.clone(),
                responsible: Responsible {
                    name: OWNERS[n % 3].0.into(),
                    phone: OWNERS[n % 3].1.into(),
                    id_last4: "0000".into(),
                },
            },
        )?;
        sum.venues += 1;
        let photo = |photos: &mut Photos, item: &str| NewPhoto {
            bytes: photos.take(),
            item_id: Some(item.into()),
            role: "before".into(),
            lat: Some(30.83),
            lon: Some(121.2),
        };
        if p.gas_supply != "none" {
            let i = s.start_inspection(user, &v.id, "lx.gas", None)?;
            let lpg = p.gas_supply == "lpg";
            let mut a = answers(
                GAS_ANSWERS,
                &[
                    (
                        "gas.lpg_underground",
                        serde_json::json!(if lpg && p.has_basement { "yes" } else { "no" }),
                    ),
                    ("gas.hose_length", serde_json::json!(2.4)),
                ],
            )?;
            if !lpg {
                a.retain(|(k, _)| {
                    !k.starts_with("gas.cylinder")
                        && k != "gas.lpg_underground"
                        && k != "gas.alarm_height"
                        && k != "gas.alarm_distance"
                });
                a.push((
                    "gas.alarm_height".into(),
                    serde_json::json!({"ng_to_ceiling": 0.2, "ng_above_appliance": "no"}),
                ));
                a.push((
                    "gas.alarm_distance".into(),
                    serde_json::json!({"ng_distance": 5}),
                ));
            }
            s.answer(user, &i.id, &a)?;
            for item in ["gas.hose_length", "gas.shutoff_installed"] {
                s.attach_photo(user, &i.id, photo(photos, item))?;
                sum.photos += 1;
            }
            if lpg && p.has_basement {
                s.attach_photo(user, &i.id, photo(photos, "gas.lpg_underground"))?;
                sum.photos += 1;
            }
            let r = s.finish_inspection(user, &i.id)?;
            sum.inspections += 1;
            hazards.extend(r.hazards.iter().map(|h| h.id.clone()));
        }
        let i = s.start_inspection(user, &v.id, "lx.ebike", None)?;
        let mut a = answers(EBIKE_ANSWERS, &[])?;
        if !p.is_crowded_place {
            a.retain(|(k, _)| k != "ebike.crowded_place_indoor");
        }
        s.answer(user, &i.id, &a)?;
        s.attach_photo(user, &i.id, photo(photos, "ebike.flying_lead"))?;
        sum.photos += 1;
        let r = s.finish_inspection(user, &i.id)?;
        sum.inspections += 1;
        for h in &r.hazards {
            if h.item_id == "ebike.flying_lead" {
                // 即改: the cable is removed while the worker waits; after photo, same visit.
                let after = NewPhoto {
                    bytes: photos.take(),
                    item_id: None,
                    role: "after".into(),
                    lat: Some(30.83),
                    lon: Some(121.2),
                };
                s.transition(
                    user,
                    &h.id,
                    Action {
                        photo: Some(after),
                        ..Action::new(EventKind::Rectify)
                    },
                )?;
                sum.photos += 1;
            }
            hazards.push(h.id.clone());
        }
    }
    Ok(hazards)
}

/// Runs the simulated phones against the relay at `url` (blocking; call off the async runtime).
pub fn run_phones(url: &str, dir: &Path, photos_dir: Option<&Path>) -> Result<DemoSummary> {
    std::fs::create_dir_all(dir)?;
    let mut photos = Photos::new(photos_dir, 6)?;
    let mut sum = DemoSummary::default();
    let open = |name: &str, user: &str| -> Result<Store> {
        let mut s = Store::create(dir.join(format!("{name}.sqlite")))?;
        s.import_directory(DIRECTORY)?;
        client::enroll(&mut s, url, user, PASSWORD, name)?;
        Ok(s)
    };
    let inspectors = [
        ("wang", "heping-1"),
        ("li", "jialou-1"),
        ("zhang", "taiping-1"),
    ];
    let mut phones = Vec::new();
    for (user, grid) in inspectors {
        let mut s = open(&format!("phone-{user}"), user)?;
        let hz = inspector_day(&mut s, user, grid, &mut photos, &mut sum)?;
        sum.hazards += hz.len();
        phones.push((user, s, hz));
        sum.phones += 1;
    }
    // Back at the office, every phone syncs by itself: records, then photos.
    for (_, s, _) in &mut phones {
        client::sync_all(s, true, &mut |_| {})?;
    }
    // A conflicting edit: the inspector claims a rectification offline while the lead department
    // (规建办), not yet aware of it, records its treatment plan. Both sync; the fold keeps both.
    let mut office = open("office-gjb", "zheng")?;
    client::sync_all(&mut office, false, &mut |_| {})?;
    let (user, wang, _) = &mut phones[0];
    let target = wang
        .list_hazards(&HazardQuery {
            scope_user: Some((*user).into()),
            open_only: true,
            ..Default::default()
        })?
        .into_iter()
        .find(|h| {
            h.lead_depts.iter().any(|d| d == "gjb")
                && h.state == "registered"
                && h.severity == "general"
        })
        .map(|h| h.id);
    if let Some(h) = &target {
        // The notice is served first, its signed copy photographed (no claim before it).
        let signed = NewPhoto {
            bytes: photos.take(),
            item_id: None,
            role: "signature".into(),
            lat: Some(30.83),
            lon: Some(121.2),
        };
        wang.transition(
            user,
            h,
            Action {
                photo: Some(signed),
                ..Action::new(EventKind::Notify)
            },
        )?;
        let after = NewPhoto {
            bytes: photos.take(),
            item_id: None,
            role: "after".into(),
            lat: Some(30.83),
            lon: Some(121.2),
        };
        wang.transition(
            user,
            h,
            Action {
                photo: Some(after),
                ..Action::new(EventKind::Claim)
            },
        )?;
        office.transition(
            "zheng",
            h,
            Action {
                text: Some(
                    gridsafe_core::lifecycle::TreatmentPlan {
                        goal: "更换合格燃气软管并加装报警切断装置".into(),
                        method: "督促业主限期整改，复查后销号".into(),
                        funds: "业主自筹".into(),
                        owner: "业主；规建办郑红督促".into(),
                        timeline: "7日内完成".into(),
                        safety: "整改前停用相关燃具，配备灭火器".into(),
                    }
                    .to_text(),
                ),
                ..Action::new(EventKind::Plan)
            },
        )?;
        client::sync_all(wang, true, &mut |_| {})?;
        client::sync_all(&mut office, false, &mut |_| {})?;
        // The office reviews the claim and closes; the phone learns it on its next sync.
        office.transition("zheng", h, Action::new(EventKind::Close))?;
        client::sync_all(&mut office, false, &mut |_| {})?;
        client::sync_all(wang, true, &mut |_| {})?;
        sum.conflict_hazard = Some(h.clone());
    }
    Ok(sum)
}
