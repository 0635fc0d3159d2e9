import ArgumentParser
import Glibc
import Loom

/// `loom demo event`: The traffic light and its cars, with an Event.
///
/// The light is green for 10 s (the event is set), yellow for 3 s, red for 7 s (cleared), and
/// again. Four cars look at it at random moments; a car at a red light waits on the event until
/// it turns green. Unlike the course's program, it stops: after `--seconds` of light time the
/// light and every car finish and the program exits.
struct DemoEvent: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "event", abstract: "The traffic light and its cars, with an Event.")

    @Option(help: "How many seconds (of light time) to run before stopping cleanly.")
    var seconds: Int = 20

    @OptionGroup var time: Speed

    func validate() throws {
        guard seconds >= 0 else { throw ValidationError("--seconds must not be negative") }
    }

    func run() throws {
        let green = Event()
        let stop = Event()
        let time = self.time
        let seconds = self.seconds
        let colour = isatty(1) == 1
        @Sendable func paint(_ text: String, _ code: String) -> String {
            colour ? "\u{1B}[\(code);1m\(text)\u{1B}[0m" : text
        }

        let light = Thread(name: "light") {
            green.set()
            var count = 0
            for _ in 0..<seconds {
                if count == 20 {
                    count = 0
                    green.set()  // wake every car waiting at the red light
                }
                if count < 10 {
                    Console.line(paint("--green light on---", "42"))
                } else if count < 13 {
                    Console.line(paint("--yellow light on---", "43"))
                } else {
                    green.clear()
                    Console.line(paint("--red light on---", "41"))
                }
                if stop.wait(timeout: time.scaled(1)) { break }
                count += 1
            }
        }

        let cars = (0..<4).map { n in
            Thread(name: "car \(n)") {
                while !stop.wait(timeout: time.scaled(Double(Int.random(in: 0..<10)))) {
                    if green.isSet {
                        Console.line("car [\(n)] is running..")
                    } else {
                        Console.line("car [\(n)] is waiting for the red light..")
                        green.wait()
                        if stop.isSet { break }
                        Console.line("car [\(n)] sees the green light and drives on..")
                    }
                }
            }
        }

        try light.start()
        for car in cars { try car.start() }
        try light.join()
        // Time is up: stop the cars, releasing any that wait at a red light.
        stop.set()
        green.set()
        for car in cars { try car.join() }
        Console.line("the traffic light stopped after \(seconds) s; all \(cars.count) cars have stopped")
    }
}
