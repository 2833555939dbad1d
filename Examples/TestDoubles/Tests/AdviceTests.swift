// Test doubles for a global function: a trait for a whole test, a scope inside a test, or update and
// reset by hand. Every test that touches `fetchTemperature` is in this one serialized suite: a key is
// process-wide, and the trait serializes only tests that carry it.
//
// `fetchTemperature` throws, so each double is written `{ _ throws in … }`: in Swift 6 mode a closure
// literal converts to the key's function type only when it throws the same way (a non-throwing closure
// would need a conversion thunk, which the compiler refuses for the key's thin function type).
import ExampleWeather
import StaticCall
import StaticCallTesting
import Testing

@Suite(.serialized)
struct AdviceTests {
    @Test(.staticCall($fetchTemperature) { _ throws in -3 })
    func aColdCityNeedsACoat() {
        #expect(advice(for: "Oslo") == "Take a coat to Oslo")
    }

    @Test(.staticCall($fetchTemperature) { _ throws in 24 })
    func aWarmCityDoesNot() {
        #expect(advice(for: "Lisbon") == "No coat needed in Lisbon")
    }

    @Test(.staticCall($fetchTemperature) { city throws in throw WeatherError.unreachable(city) })
    func anUnreachableServiceIsSaid() {
        #expect(advice(for: "Reykjavik") == "No forecast for Reykjavik")
    }

    @Test func aScopedDoubleEndsWithItsScope() {
        $fetchTemperature.withTarget({ _ throws in 4.5 }) {
            #expect(advice(for: "Bergen") == "Take a coat to Bergen")
        }
        // The real function again: the service is unreachable here.
        #expect(advice(for: "Bergen") == "No forecast for Bergen")
    }

    @Test func updateAndResetByHand() {
        $fetchTemperature.update { _ throws in 30 }
        defer { $fetchTemperature.reset() }
        #expect(advice(for: "Seville") == "No coat needed in Seville")
        $fetchTemperature.reset()
        #expect(advice(for: "Seville") == "No forecast for Seville")
    }
}
