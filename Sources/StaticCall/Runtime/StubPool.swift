internal import MachineCode

/// Far-jump stubs for targets out of rel32 reach of their sites (a function of another image), in areas
/// of stub pages near each object whose sites need them.
///
/// A stub is immutable: it holds one absolute address for the life of the process, and is never freed or
/// reused for another address. A thread may be inside a stub at any moment (it called the site just
/// before the site was repatched, and was preempted), and only the kernel's RCU could tell when none is;
/// so a stub for address X is reused only for X, which is always correct. Nor is a mapped page ever
/// written again: new stubs go into a new page (of the same area, merged into one mapping). The cost is a
/// page per update that needs new far addresses, and 16 bytes per distinct far address per object.
final class StubPool {
    private struct Area {
        var area: StubArea
        var stubs: [UInt64: UInt64] // target -> stub address
    }

    /// Areas by object (its text range).
    private var areas: [Range<UInt64>: [Area]] = [:]
    /// Objects for which no stub page could be mapped, and why: not tried again until objects change.
    private var refusals: [Range<UInt64>: String] = [:]

    /// The stub for `target` reachable from `site` in the object whose text is `text`, if one exists.
    func existing(_ target: UInt64, site: UInt64, text: Range<UInt64>) -> UInt64? {
        for area in areas[text] ?? [] {
            if let stub = area.stubs[target], SiteInstruction.jump(stub).encode(at: site) != nil { return stub }
        }
        return nil
    }

    /// Why the object whose text is `text` has no stubs, if it was refused them.
    func refusal(for text: Range<UInt64>) -> String? { refusals[text] }

    /// Objects were loaded or unloaded: a refused object may be placeable now.
    func objectsChanged() { refusals = [:] }

    /// Maps stubs for every target in `needs` that its object has none for yet.
    func prepare(_ needs: [(target: UInt64, text: Range<UInt64>, image: Range<UInt64>?)]) {
        var missing: [Range<UInt64>: [UInt64]] = [:]
        var images: [Range<UInt64>: Range<UInt64>] = [:]
        for need in needs where refusals[need.text] == nil && !hasStub(for: need.target, text: need.text) {
            if !(missing[need.text] ?? []).contains(need.target) { missing[need.text, default: []].append(need.target) }
            if let image = need.image { images[need.text] = image }
        }
        let perPage = Int(PageRemapper.pageSize) / FarJumpStub.size
        for (text, targets) in missing {
            guard let window = FarJumpStub.window(forText: text, pageSize: PageRemapper.pageSize) else {
                refusals[text] = "the object's text spans more than a rel32 reaches"
                continue
            }
            for start in stride(from: 0, to: targets.count, by: perPage) {
                let chunk = Array(targets[start..<min(start + perPage, targets.count)])
                let bytes = chunk.flatMap { FarJumpStub.encode(target: $0) }
                do throws(PatchError) {
                    var index = (areas[text] ?? []).indices.last
                    var base: UInt64? = nil
                    if let i = index { base = try areas[text]![i].area.append(bytes) }
                    if base == nil {
                        let area = try StubArea.open(bytes, within: window, near: text.lowerBound, beside: images[text])
                        areas[text, default: []].append(Area(area: area, stubs: [:]))
                        index = areas[text]!.count - 1
                        base = area.base
                    }
                    for (i, target) in chunk.enumerated() { areas[text]![index!].stubs[target] = base! + UInt64(i * FarJumpStub.size) }
                    debugLog("stub page at 0x\(String(base!, radix: 16)) for \(chunk.count) far target\(chunk.count == 1 ? "" : "s")")
                } catch {
                    refusals[text] = "no stub page could be mapped within reach (\(error))"
                    debugLog(refusals[text]!)
                    break
                }
            }
        }
    }

    private func hasStub(for target: UInt64, text: Range<UInt64>) -> Bool {
        (areas[text] ?? []).contains { $0.stubs[target] != nil }
    }
}
