import SwiftSyntax
import SwiftSyntaxMacros

/// Rules both macros share for the declarations they generate.
enum GeneratedNames {
    /// A stable FNV-1a suffix over `text` and the source location of `node`, which keeps trampoline
    /// symbols of same-named declarations in different files apart.
    static func uniqueSuffix(_ text: String, of node: some SyntaxProtocol, in context: some MacroExpansionContext) -> String {
        var text = text
        if let location = context.location(of: node) {
            text += location.file.trimmedDescription + ":" + location.line.trimmedDescription
        }
        return fnv1a(text)
    }

    /// A suffix over `text` and the module of `node` only (the part of its `#fileID` before the `/`): for
    /// the symbols other modules' inlined code names, which must not change when the declaration moves
    /// within its module (a library built with library evolution would break its clients). Unique
    /// where it is used: two public declarations of one name in one scope of one module do not compile.
    static func moduleSuffix(_ text: String, of node: some SyntaxProtocol, in context: some MacroExpansionContext) -> String {
        var text = text
        if let location = context.location(of: node) {
            let file = location.file.trimmedDescription.filter { $0 != "\"" }
            text += "@" + (file.split(separator: "/").first.map(String.init) ?? file)
        }
        return fnv1a(text)
    }

    static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    /// Access modifiers, each with its trailing space (or empty): peers stay inside the module unless the
    /// declaration is private; the key (and its type) has `key`'s access; the key's members repeat it
    /// except where a member cannot be more visible than its private type anyway.
    static func access(declaration: String?, key: String?) -> (peer: String, key: String, member: String) {
        let isPrivate: (String?) -> Bool = { $0 == "private" || $0 == "fileprivate" }
        let keyWord = key.map { $0 + " " } ?? ""
        return (isPrivate(declaration) ? declaration! + " " : "", keyWord, isPrivate(key) ? "" : keyWord)
    }
}
