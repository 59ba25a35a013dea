package cn.gridsafe

import cn.gridsafe.core.FieldAnswer
import cn.gridsafe.core.FieldInput
import cn.gridsafe.core.GridStore
import cn.gridsafe.core.Language
import cn.gridsafe.core.WalkScreen

/*
 * Whole walks for the tests, answered the way the app answers: one typed field at a time. The
 * shape is the CLI's answers files' (item → "na", the value of its first field, or field → value).
 */

/** The walk of an e-bike shop with a flying lead: `examples/answers/ebike-shop.json` as the typed calls take it. */
val EBIKE_ANSWERS: Map<String, Any> = mapOf(
    "ebike.common_area_parking" to mapOf("yn" to "no"),
    "ebike.common_area_charging" to "no",
    "ebike.exit_route_fire_lane" to "no",
    "ebike.crowded_place_indoor" to "na",
    "ebike.residential_indoor" to "no",
    "ebike.battery_indoor_charging" to "no",
    "ebike.flying_lead" to "yes",
    "ebike.elevator" to mapOf("yn" to "no", "blocker_ok" to "na"),
    "ebike.highrise_public_area" to "na",
    "ebike.outdoor_area_adjacent" to mapOf("yn" to "no", "distance" to 6.5),
    "ebike.facility_available" to mapOf("yn" to "no", "charging_points" to 0),
    "ebike.facility_auto_cutoff" to "na",
    "ebike.facility_fire_equipment" to "na",
    "ebike.facility_separation" to "na",
    "ebike.facility_monitoring" to "na",
    "ebike.shelter_material" to "no",
    "ebike.illegal_modification" to "no",
    "ebike.unregistered" to 0,
    "ebike.old_batteries" to "no",
    "ebike.shop_with_residence" to "no",
    "ebike.management_signage" to "yes",
)

/** The walk of a restaurant on LPG with its cylinders in the basement: `examples/answers/gas-restaurant.json` as the typed calls take it. */
val GAS_ANSWERS: Map<String, Any> = mapOf(
    "gas.alarm_installed" to "yes",
    "gas.alarm_working" to "yes",
    "gas.alarm_height" to mapOf("lpg_to_floor" to 0.2),
    "gas.alarm_distance" to mapOf("lpg_distance" to 3.0),
    "gas.shutoff_installed" to "no",
    "gas.shutoff_test_record" to "no",
    "gas.lpg_underground" to "yes",
    "gas.in_sleeping_room" to "no",
    "gas.pipe_in_bathroom" to "no",
    "gas.obsolete_appliance_hose" to "no",
    "gas.hose_length" to 2.4,
    "gas.hose_joint" to "no",
    "gas.hose_through_wall" to "no",
    "gas.hose_condition" to "no",
    "gas.flame_failure_device" to "yes",
    "gas.cylinder_count" to mapOf("in_use_5" to 0, "in_use_15" to 1, "in_use_50" to 0, "spare_5" to 0, "spare_15" to 2, "spare_50" to 0, "empty" to 1),
    "gas.cylinder_storage" to "yes",
    "gas.cylinder_to_appliance" to 0.8,
    "gas.cylinder_origin" to "yes",
    "gas.cylinder_inspection_date" to "yes",
    "gas.illegal_practices" to "no",
    "gas.unauthorised_alteration" to "no",
    "gas.pipeline_encroachment" to "no",
    "gas.supplier_safety_check" to "yes",
    "gas.user_safety_management" to "yes",
)

/**
 * Answers [answers] through the typed calls: "na" for a whole item marks it not applicable (an
 * item the venue's profile already leaves out is skipped); "na" for a yes/no question is that
 * question's 不适用. Returns the walk as it then stands.
 */
suspend fun GridStore.answerAll(user: String, inspectionId: String, answers: Map<String, Any>): WalkScreen {
    var walk = walkScreen(inspectionId)
    for ((itemId, answer) in answers) {
        val item = walk.items.find { it.id == itemId }
        if (answer == "na") {
            if (item != null) walk = markNotApplicable(user, inspectionId, itemId, Language.ZH)
            continue
        }
        checkNotNull(item) { "$itemId is not in the walk" }
        @Suppress("UNCHECKED_CAST")
        val fields = answer as? Map<String, Any> ?: mapOf(item.fields.first().key to answer)
        for ((key, value) in fields) {
            val typed = when (item.fields.single { it.key == key }.input) {
                is FieldInput.YesNo -> when (value) {
                    "yes" -> FieldAnswer.Yes
                    "no" -> FieldAnswer.No
                    else -> FieldAnswer.NotApplicable
                }
                is FieldInput.Number -> FieldAnswer.Number((value as Number).toDouble())
                is FieldInput.Count -> FieldAnswer.Count((value as Number).toLong())
                is FieldInput.Choice -> FieldAnswer.Choice(value as String)
                is FieldInput.Multi -> @Suppress("UNCHECKED_CAST") FieldAnswer.Multi(value as List<String>)
                is FieldInput.Text -> FieldAnswer.Text(value as String)
            }
            walk = answerFieldOf(user, inspectionId, itemId, key, typed)
        }
    }
    return walk
}
