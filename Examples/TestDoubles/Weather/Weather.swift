// Code under test that calls a global function with a side effect (here, a weather service). Declared
// with @StaticCall, the function can be replaced in tests, for one test or for a scope, with no protocol,
// no injected closure and no cost in production: outside tests its call sites are direct calls.
import StaticCall

public enum WeatherError: Error, Equatable {
    case unreachable(String)
}

/// The temperature in `city`, in °C, from the weather service. (In a real program, an HTTP request; here
/// the service is never reachable, so that a test that forgets its double fails loudly.)
@StaticCall
public func fetchTemperature(city: String) throws -> Double {
    throw WeatherError.unreachable(city)
}

/// What to tell someone travelling to `city`.
public func advice(for city: String) -> String {
    do {
        let celsius = try fetchTemperature(city: city)
        return celsius < 5 ? "Take a coat to \(city)" : "No coat needed in \(city)"
    } catch {
        return "No forecast for \(city)"
    }
}
