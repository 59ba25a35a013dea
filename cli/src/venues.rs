//! `gridsafe venue`: add, edit, list, show, import venues; print a venue's notice.

use crate::ctx::{Ctx, read_file};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use gridsafe_core::Store;
use gridsafe_core::profile::VenueProfile;
use gridsafe_core::records::Responsible;
use gridsafe_core::store::{HazardQuery, NewVenue, VenueEdit};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug, Default)]
pub(crate) struct ProfileArgs {
    /// Venue type code (repeatable): selfbuilt_business, street_shop, small_restaurant,
    /// three_in_one, group_rental, small_workshop, small_warehouse, other.
    #[arg(long = "type")]
    venue_type: Vec<String>,
    #[arg(long)]
    floors: Option<u32>,
    /// Largest floor area, m².
    #[arg(long)]
    area: Option<f64>,
    /// Building height, m.
    #[arg(long)]
    height: Option<f64>,
    #[arg(long)]
    basement: Option<bool>,
    /// Combustible roof members or floors.
    #[arg(long)]
    combustible: Option<bool>,
    /// People sleeping on site (leave out when unknown: never assumed 0).
    #[arg(long)]
    residents: Option<u32>,
    /// 人员密集场所.
    #[arg(long)]
    crowded: Option<bool>,
    /// piped_ng, lpg, other_fuel, none; several separated by commas (piped_ng,lpg).
    #[arg(long)]
    gas: Option<String>,
    #[arg(long)]
    uses: Option<String>,
    /// Exits this venue must have, as the lead department set it.
    #[arg(long)]
    dept_exits: Option<u32>,
    /// Required total clear exit width (m), as the lead department set it.
    #[arg(long)]
    dept_exit_width: Option<f64>,
    /// Distance (m) a flammable or explosive goods site must keep, as the department set it.
    #[arg(long)]
    dept_hazmat_gap: Option<f64>,
    #[arg(long)]
    owner_name: Option<String>,
    #[arg(long)]
    owner_phone: Option<String>,
    /// Last four characters of the owner's ID card.
    #[arg(long)]
    owner_id4: Option<String>,
}

impl ProfileArgs {
    fn apply(&self, p: &mut VenueProfile) -> bool {
        let mut changed = false;
        macro_rules! set {
            ($src:expr, $dst:expr) => {
                if let Some(v) = $src.clone() {
                    $dst = v;
                    changed = true;
                }
            };
        }
        if !self.venue_type.is_empty() {
            p.venue_type = self.venue_type.clone();
            changed = true;
        }
        set!(self.floors, p.floors_above_ground);
        set!(self.area, p.max_floor_area_m2);
        set!(self.height, p.building_height_m);
        set!(self.basement, p.has_basement);
        set!(self.combustible, p.roof_or_floors_combustible);
        if let Some(n) = self.residents {
            p.residents_count = Some(n);
            changed = true;
        }
        set!(self.crowded, p.is_crowded_place);
        if let Some(g) = &self.gas {
            let all: Vec<String> = g
                .split([',', '，'])
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            p.gas_supply = all.first().cloned().unwrap_or_default();
            p.gas_supplies = if all.len() > 1 { all } else { vec![] };
            changed = true;
        }
        set!(self.uses, p.uses_by_floor);
        for (src, dst) in [
            (self.dept_exit_width, &mut p.dept_required_exit_width_m),
            (self.dept_hazmat_gap, &mut p.dept_hazmat_gap_m),
        ] {
            if src.is_some() {
                *dst = src;
                changed = true;
            }
        }
        if self.dept_exits.is_some() {
            p.dept_required_exits = self.dept_exits;
            changed = true;
        }
        changed
    }
    fn responsible(&self, r: &mut Responsible) -> bool {
        let mut changed = false;
        for (src, dst) in [
            (&self.owner_name, &mut r.name),
            (&self.owner_phone, &mut r.phone),
            (&self.owner_id4, &mut r.id_last4),
        ] {
            if let Some(v) = src {
                *dst = v.clone();
                changed = true;
            }
        }
        changed
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum VenueCmd {
    /// Register a venue.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        address: String,
        #[arg(long)]
        grid: String,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Edit a venue (only the fields given change).
    Edit {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        grid: Option<String>,
        #[arg(long)]
        archive: Option<bool>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Venues of my grids.
    List,
    /// One venue with its inspection and hazard history.
    Show { id: String },
    /// The rectification notice (整改通知书) for the venue's open hazards, as a printable HTML
    /// page with the owner's QR code (signed by this phone once enrolled); --json for its data.
    Notice {
        id: String,
        /// Write the HTML here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Register venues from a JSON-lines file (one venue per line); each is saved on its own and
    /// reported as `saved <id>` as soon as it is on disk.
    Import { file: PathBuf },
}

pub(crate) fn run(ctx: &Ctx, store: &mut Store, cmd: VenueCmd) -> Result<()> {
    match cmd {
        VenueCmd::Add {
            name,
            address,
            grid,
            profile,
        } => {
            let mut nv = NewVenue {
                name,
                address,
                grid_id: grid,
                ..Default::default()
            };
            nv.profile.gas_supply = "none".into();
            profile.apply(&mut nv.profile);
            profile.responsible(&mut nv.responsible);
            let v = store.add_venue(ctx.user()?, nv)?;
            ctx.emit(&v, || v.id.clone())
        }
        VenueCmd::Edit {
            id,
            name,
            address,
            grid,
            archive,
            profile,
        } => {
            let current = store.venue(&id)?;
            let mut p = current.profile.clone();
            let mut r = current.responsible.clone();
            let edit = VenueEdit {
                name,
                address,
                grid_id: grid,
                profile: profile.apply(&mut p).then_some(p),
                responsible: profile.responsible(&mut r).then_some(r),
                archived: archive,
            };
            let v = store.edit_venue(ctx.user()?, &id, edit)?;
            ctx.emit(&v, || format!("已保存 saved {}", v.id))
        }
        VenueCmd::List => {
            let rows = store.list_venues(ctx.as_user.as_deref())?;
            ctx.emit(&rows, || {
                rows.iter()
                    .map(|v| {
                        format!(
                            "{}  {:<10} {:<20} {}  {}",
                            v.id,
                            v.grid_id,
                            v.name,
                            v.venue_types.join(","),
                            v.last_inspected.as_deref().unwrap_or("未检查")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        VenueCmd::Notice { id, out } => {
            let n = store.notice(ctx.user()?, &id)?;
            if ctx.json {
                return ctx.emit(&n, String::new);
            }
            let html = gridsafe_core::notice::to_html(&n)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, html)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    println!(
                        "整改通知书 notice {} ({} hazards) → {}",
                        n.number,
                        n.hazards.len(),
                        path.display()
                    );
                }
                None => print!("{html}"),
            }
            Ok(())
        }
        VenueCmd::Show { id } => {
            let v = store.venue(&id)?;
            let inspections = store.venue_inspections(&id)?;
            let hazards = store.list_hazards(&HazardQuery {
                venue_id: Some(id.clone()),
                ..Default::default()
            })?;
            let out =
                serde_json::json!({"venue": v, "inspections": inspections, "hazards": hazards});
            ctx.emit(&out, || {
                let mut s = format!(
                    "{} {}\n{}  {} / {}\n类型 {}  燃气 {}  {} 层  住宿 {} 人\n负责人 {} {}\n",
                    v.id,
                    v.name,
                    v.address,
                    v.village,
                    v.grid_id,
                    v.profile.venue_type.join(","),
                    v.profile.gas_supplies().join(","),
                    v.profile.floors_above_ground,
                    v.profile
                        .residents_count
                        .map_or_else(|| "不详".to_owned(), |n| n.to_string()),
                    v.responsible.name,
                    v.responsible.phone
                );
                s.push_str(&format!("\n检查 inspections ({})\n", inspections.len()));
                for i in &inspections {
                    s.push_str(&format!(
                        "  {} {} {}@{} {}\n",
                        i.started_at,
                        i.id,
                        i.template_id,
                        i.template_version,
                        if i.finished { "已完成" } else { "进行中" }
                    ));
                }
                s.push_str(&format!("\n隐患 hazards ({})\n", hazards.len()));
                for h in &hazards {
                    s.push_str(&format!(
                        "  {} {} {} {}\n",
                        h.id,
                        h.state,
                        h.item_id,
                        h.due_date.as_deref().unwrap_or("")
                    ));
                }
                s
            })
        }
        VenueCmd::Import { file } => {
            let user = ctx.user()?.to_owned();
            let text = String::from_utf8(read_file(&file)?).context("venue file is not UTF-8")?;
            let mut out = std::io::stdout().lock();
            let mut saved = 0;
            for (n, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let nv: NewVenue = serde_json::from_str(line)
                    .with_context(|| format!("{} line {}: not a venue", file.display(), n + 1))?;
                let v = store
                    .add_venue(&user, nv)
                    .with_context(|| format!("{} line {}", file.display(), n + 1))?;
                // Printed only once the venue is committed to disk.
                writeln!(out, "saved {}", v.id)?;
                out.flush()?;
                saved += 1;
            }
            if !ctx.json {
                writeln!(out, "已导入 imported {saved}")?;
            }
            Ok(())
        }
    }
}
