package cn.gridsafe.app

import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import kotlin.system.exitProcess

/**
 * Runs the app's tests (scripts/android) and ends with the line CI reads:
 * "android: N passed, N failed".
 */
fun main() {
    val result = JUnitCore().run(VaultTest::class.java, SyncScheduleTest::class.java, FieldDayTest::class.java)
    for (f: Failure in result.failures) {
        println("FAILED ${f.testHeader}")
        println(f.trace)
    }
    val failed = result.failureCount
    println("android: ${result.runCount - failed} passed, $failed failed")
    exitProcess(if (failed == 0 && result.runCount > 0) 0 else 1)
}
