#if canImport(Glibc)
import Glibc
#endif
import COpenSSL

/// Python's `SSLSocket.getpeercert()`: the parts of a certificate people look at, decoded
/// once, plus its DER bytes (`getpeercert(binary_form=True)`).
public struct TLSCertificate: Sendable, Equatable {
    /// The subject, RFC 2253 style: `CN=localhost,O=Loom`.
    public let subject: String
    /// The subject's common name, if any.
    public let commonName: String?
    /// The issuer, RFC 2253 style.
    public let issuer: String
    /// The subject alternative names, in certificate order.
    public let subjectAlternativeNames: [SubjectAlternativeName]
    /// Start of validity in Python's format: `Nov 30 00:00:00 2026 GMT`.
    public let notBefore: String
    /// End of validity in Python's format.
    public let notAfter: String
    /// Start of validity in seconds since 1970 (Python's `ssl.cert_time_to_seconds`).
    public let notBeforeSeconds: Int
    /// End of validity in seconds since 1970.
    public let notAfterSeconds: Int
    /// The serial number in upper-case hexadecimal.
    public let serialNumber: String
    /// The certificate, DER-encoded.
    public let der: [UInt8]

    /// One entry of the subject alternative name extension.
    public enum SubjectAlternativeName: Sendable, Equatable {
        /// `DNS:example.com`.
        case dns(String)
        /// `IP Address:127.0.0.1` (IPv4 or IPv6, printed).
        case ipAddress(String)
        /// `email:user@example.com`.
        case email(String)
        /// `URI:https://example.com/`.
        case uri(String)
    }

    /// Decodes `x509` (borrowed: the caller frees it).
    init(_ x509: OpaquePointer) {
        subject = Self.name(X509_get_subject_name(x509))
        issuer = Self.name(X509_get_issuer_name(x509))
        commonName = Self.commonName(X509_get_subject_name(x509))
        subjectAlternativeNames = Self.alternativeNames(x509)
        notBefore = Self.timeText(X509_get0_notBefore(x509))
        notAfter = Self.timeText(X509_get0_notAfter(x509))
        notBeforeSeconds = Self.timeSeconds(X509_get0_notBefore(x509))
        notAfterSeconds = Self.timeSeconds(X509_get0_notAfter(x509))
        serialNumber = Self.serial(x509)
        let length = i2d_X509(x509, nil)
        var bytes = [UInt8](repeating: 0, count: max(0, Int(length)))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            _ = i2d_X509(x509, &cursor)
        }
        der = bytes
    }

    private static func withMemoryBIO(_ body: (OpaquePointer) -> Void) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        body(bio)
        let count = Int(BIO_ctrl_pending(bio))
        var bytes = [UInt8](repeating: 0, count: count)
        var read = 0
        _ = BIO_read_ex(bio, &bytes, count, &read)
        return String(decoding: bytes[..<read], as: UTF8.self)
    }

    private static func name(_ name: OpaquePointer?) -> String {
        guard let name else { return "" }
        return withMemoryBIO { bio in
            _ = X509_NAME_print_ex(bio, name, 0, copenssl_name_flags_rfc2253())
        }
    }

    private static func commonName(_ name: OpaquePointer?) -> String? {
        guard let name else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
              let data = X509_NAME_ENTRY_get_data(entry) else { return nil }
        return string(data)
    }

    private static func string(_ asn1: UnsafePointer<ASN1_STRING>) -> String? {
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, asn1)
        guard length >= 0, let utf8 else { return nil }
        defer { copenssl_free(utf8) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    private static func alternativeNames(_ x509: OpaquePointer) -> [SubjectAlternativeName] {
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { copenssl_GENERAL_NAMES_free(names) }
        var result: [SubjectAlternativeName] = []
        for index in 0..<copenssl_GENERAL_NAMES_count(names) {
            guard let entry = copenssl_GENERAL_NAMES_at(names, index) else { continue }
            switch entry.pointee.type {
            case GEN_DNS:
                if let text = string(entry.pointee.d.dNSName) { result.append(.dns(text)) }
            case GEN_EMAIL:
                if let text = string(entry.pointee.d.rfc822Name) { result.append(.email(text)) }
            case GEN_URI:
                if let text = string(entry.pointee.d.uniformResourceIdentifier) { result.append(.uri(text)) }
            case GEN_IPADD:
                if let address = addressText(entry.pointee.d.iPAddress) { result.append(.ipAddress(address)) }
            default:
                continue
            }
        }
        return result
    }

    private static func addressText(_ octets: UnsafePointer<ASN1_STRING>) -> String? {
        let length = Int(ASN1_STRING_length(octets))
        guard let data = ASN1_STRING_get0_data(octets), length == 4 || length == 16 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(length == 4 ? AF_INET : AF_INET6, data, &text, socklen_t(text.count)) != nil else { return nil }
        return text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private static func timeText(_ time: UnsafePointer<ASN1_TIME>?) -> String {
        guard let time else { return "" }
        return withMemoryBIO { bio in _ = ASN1_TIME_print(bio, time) }
    }

    private static func timeSeconds(_ time: UnsafePointer<ASN1_TIME>?) -> Int {
        guard let time else { return 0 }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return 0 }
        return timegm(&parts)
    }

    private static func serial(_ x509: OpaquePointer) -> String {
        guard let integer = X509_get_serialNumber(x509), let number = ASN1_INTEGER_to_BN(integer, nil) else { return "" }
        defer { BN_free(number) }
        guard let hex = BN_bn2hex(number) else { return "" }
        defer { copenssl_free(hex) }
        return String(cString: hex)
    }
}
