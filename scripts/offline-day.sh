#!/usr/bin/env bash
# A grid worker's offline day, scripted through the `gridsafe` headless phone.
#   scripts/offline-day.sh [STORE]          (builds the CLI first unless GRIDSAFE_BIN is set)
# 王建国 (wang, 和平村 grids 1–2) registers two venues, runs the gas and e-bike checklists with
# photos, fixes a flying lead on the spot (即改), and the lead departments review at the office.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
store=${1:-$(mktemp -d)/phone.sqlite}
if [ -z "${GRIDSAFE_BIN:-}" ]; then
  cargo build -q -p gridsafe-cli --manifest-path "$root/Cargo.toml"
  GRIDSAFE_BIN="$root/target/debug/gridsafe"
fi
gs() { "$GRIDSAFE_BIN" --store "$store" "$@"; }
photos="$root/examples/photos"
say() { printf '\n== %s\n' "$*"; }
json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

say "初始化手机存储 / new phone store: $store"
gs init
gs directory import "$root/examples/lvxiang-directory.json"
gs templates list

say "登记场所 / register venues"
restaurant=$(gs --as wang venue add --name "老王小吃" --address "和平村1组12号" --grid heping-1 \
  --type small_restaurant --floors 2 --area 90 --height 7 --basement true --residents 2 --crowded true \
  --gas lpg --owner-name "王某" --owner-phone 13800000000 --owner-id4 1234)
shop=$(gs --as wang venue add --name "和平电动车行" --address "和平村2组3号" --grid heping-2 \
  --type street_shop --floors 1 --area 60 --height 4 --crowded true --gas none)
gs --as wang venue list

say "燃气检查 / gas checklist at 老王小吃"
gas=$(gs --as wang inspect start --venue "$restaurant" --template lx.gas)
gs --as wang inspect answers "$gas" "$root/examples/answers/gas-restaurant.json" >/dev/null
gs --as wang inspect attach "$gas" --item gas.hose_length --photo "$photos/hose-measure.jpg" --lat 30.8312 --lon 121.2004
gs --as wang inspect attach "$gas" --item gas.lpg_underground --photo "$photos/corridor-before.jpg"
gs --as wang inspect attach "$gas" --item gas.shutoff_installed --photo "$photos/corridor-before.jpg"
gs --as wang inspect finish "$gas"

say "电动自行车检查 / e-bike checklist at 和平电动车行"
eb=$(gs --as wang inspect start --venue "$shop" --template lx.ebike)
gs --as wang inspect answers "$eb" "$root/examples/answers/ebike-shop.json" >/dev/null
gs --as wang inspect attach "$eb" --item ebike.flying_lead --photo "$photos/corridor-before.jpg"
gs --as wang inspect finish "$eb"
flying=$(gs --as wang --json hazards list --open | json_field '[h["id"] for h in d if h["item_id"]=="ebike.flying_lead"][0]')

say "即改：现场拆除飞线 / fixed on the spot with an after photo"
gs --as wang hazard rectify "$flying" --photo "$photos/corridor-after.jpg"

say "网格员不能销号 / the inspector cannot close (refused, exit 3)"
major=$(gs --as wang --json hazards list --open | json_field '[h["id"] for h in d if h["item_id"]=="gas.lpg_underground"][0]')
if gs --as wang hazard close "$major"; then echo "BUG: inspector closed a hazard" >&2; exit 1; fi

say "回到办公室：牵头部门审核 / back at the office: lead departments review"
gs --as sun hazard close "$flying"
gs --as zheng hazard confirm "$major"
gs --as wang hazard notify "$major" --deadline "$(date -d '+14 days' +%F)" --photo "$photos/hose-measure.jpg"

say "我的未销号隐患（按期限）/ my open hazards by due date"
gs --as wang hazards list --open
say "隐患详情 / hazard detail with its history"
gs --as wang hazards show "$major"
say "证据校验 / the gas inspection's photos and answers against its seal"
gs evidence verify "$gas"
gs check
echo
echo "store: $store"
