package cn.gridsafe

import cn.gridsafe.core.GridStore
import cn.gridsafe.core.HazardFilter
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.condition.EnabledIfSystemProperty
import java.io.File

/**
 * The cost of crossing the boundary: listing 1,000 hazards from Kotlin, timed here; the same core
 * call timed in Rust by gridsafe-bench in the same `scripts/bench boundary` run. Skipped unless
 * that script sets gridsafe.bench.store. A benchmark, not a test: it asserts only the row count.
 */
class BoundaryBench {
    @Test
    @EnabledIfSystemProperty(named = "gridsafe.bench.store", matches = ".+")
    fun `list 1000 hazards from Kotlin`() {
        val path = System.getProperty("gridsafe.bench.store")
        val rounds = 51
        val times = GridStore.open(path).use { store ->
            repeat(5) { store.hazards(HazardFilter(limit = 1000u)) } // JIT and page cache warm-up
            (1..rounds).map {
                val t = System.nanoTime()
                val rows = store.hazards(HazardFilter(limit = 1000u))
                val ms = (System.nanoTime() - t) / 1e6
                assertEquals(1000, rows.size)
                ms
            }.sorted()
        }
        val median = times[rounds / 2]
        File(System.getProperty("gridsafe.bench.out")).writeText("""{"kotlin_list_1000_ms":$median,"rounds":$rounds}""")
    }
}
