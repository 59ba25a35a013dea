package cn.gridsafe

import cn.gridsafe.core.FieldAnswer
import cn.gridsafe.core.GridStore
import cn.gridsafe.core.Language
import cn.gridsafe.core.VenueFilter
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.condition.EnabledIfSystemProperty
import java.io.File

/**
 * The field app's screens from Kotlin through the bindings, on the phone-sized store the Rust
 * side of `scripts/bench screens` times in the same run (a copy: the walk writes). Skipped unless
 * that script sets gridsafe.bench.screens. A benchmark, not a test: it asserts only that screens
 * came back.
 */
class ScreensBench {
    private fun median(rounds: Int, f: () -> Unit): Double {
        repeat(5) { f() } // JIT and page cache warm-up
        return (1..rounds).map {
            val t = System.nanoTime()
            f()
            (System.nanoTime() - t) / 1e6
        }.sorted()[rounds / 2]
    }

    @Test
    @EnabledIfSystemProperty(named = "gridsafe.bench.screens", matches = ".+")
    fun `the screens from Kotlin`() {
        val path = System.getProperty("gridsafe.bench.screens")
        val rounds = 51
        val out = GridStore.open(path).use { store ->
            val zh = Language.ZH
            val venues = store.venueList("wang", VenueFilter(), zh)
            assertTrue(venues.rows.isNotEmpty())
            val venue = venues.rows.first().id
            val insp = store.startInspection("wang", venue, "lx.gas").id
            var n = 0.0
            mapOf(
                "Today" to median(rounds) { store.today("wang", zh) },
                "venue list, first page" to median(rounds) { store.venueList("wang", VenueFilter(), zh) },
                "venue search by name" to median(rounds) { store.venueList("wang", VenueFilter(text = "场所0123"), zh) },
                "venue file" to median(rounds) { store.venueFile("wang", venue, zh) },
                "walk: answer the next item, walk rebuilt" to median(rounds) {
                    n += 0.01
                    store.answerField("wang", insp, "gas.hose_length", "length", FieldAnswer.Number(1.0 + n), zh)
                },
                "walk: rebuilt (app resumed)" to median(rounds) { store.walk(insp, zh) },
            )
        }
        File(System.getProperty("gridsafe.bench.out")).writeText(
            out.entries.joinToString(",", "{", "}") { (k, v) -> "\"$k\":$v" },
        )
    }
}
