//! The words of the reports, in Traditional Chinese (the document's own headings) and English:
//! labels, what each finding code means, and the fix a webmaster should make for it.

use model::{Code, Severity};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// The language of a rendering. Figures, codes and field names do not change with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum Lang {
    /// Traditional Chinese, as used in Taiwan (the default: the NDC's own language).
    #[default]
    #[serde(rename = "zh-TW")]
    ZhTw,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// The BCP 47 tag, as used in `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhTw => "zh-TW",
            Lang::En => "en",
        }
    }

    /// The labels of this language.
    pub fn labels(self) -> &'static Labels {
        match self {
            Lang::ZhTw => &ZH_TW,
            Lang::En => &EN,
        }
    }

    pub fn yes_no(self, b: bool) -> &'static str {
        let l = self.labels();
        if b { l.yes } else { l.no }
    }

    pub fn severity(self, s: Severity) -> &'static str {
        let l = self.labels();
        match s {
            Severity::Error => l.sev_error,
            Severity::Warning => l.sev_warning,
            Severity::Info => l.sev_info,
        }
    }

    /// What a finding code means, in a few words.
    pub fn meaning(self, code: Code) -> &'static str {
        let t = texts(code).unwrap_or(UNKNOWN);
        match self {
            Lang::ZhTw => t.meaning_zh,
            Lang::En => t.meaning_en,
        }
    }

    /// The fix to make for a finding code, in plain words.
    pub fn fix(self, code: Code) -> &'static str {
        let t = texts(code).unwrap_or(UNKNOWN);
        match self {
            Lang::ZhTw => t.fix_zh,
            Lang::En => t.fix_en,
        }
    }

    /// The display name of a group (an empty category gets a word).
    pub fn group_name(self, name: &str) -> String {
        if name.is_empty() {
            self.labels().uncategorised.to_owned()
        } else {
            name.to_owned()
        }
    }

    /// The display name of an agency (an empty agency gets a word).
    pub fn agency_name(self, name: &str) -> String {
        if name.is_empty() {
            self.labels().no_agency.to_owned()
        } else {
            name.to_owned()
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// A language tag that is neither `zh-TW` nor `en`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?} (use zh-TW or en)")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "zh-tw" | "zh" | "zh-hant" | "zh-hant-tw" => Ok(Lang::ZhTw),
            "en" | "en-us" | "en-gb" => Ok(Lang::En),
            _ => Err(UnknownLang(s.to_owned())),
        }
    }
}

/// Every label a rendering prints.
#[derive(Debug)]
pub struct Labels {
    pub title: &'static str,
    pub diff_title: &'static str,
    pub group: &'static str,
    pub agency: &'static str,
    pub count: &'static str,
    pub adopted: &'static str,
    pub forced: &'static str,
    pub ratio: &'static str,
    pub forced_ratio: &'static str,
    pub total: &'static str,
    pub ndc_table: &'static str,
    pub bars: &'static str,
    pub agency_tree: &'static str,
    pub findings: &'static str,
    pub code: &'static str,
    pub meaning: &'static str,
    pub severity: &'static str,
    pub sites: &'static str,
    pub failing: &'static str,
    pub site: &'static str,
    pub finding: &'static str,
    pub detail: &'static str,
    pub fix: &'static str,
    pub notes: &'static str,
    pub scanned: &'static str,
    pub filter: &'static str,
    pub none_failing: &'static str,
    pub chrome_only: &'static str,
    pub chrome_only_note: &'static str,
    pub uncategorised: &'static str,
    pub no_agency: &'static str,
    pub no_finding: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub sev_error: &'static str,
    pub sev_warning: &'static str,
    pub sev_info: &'static str,
    pub old: &'static str,
    pub new: &'static str,
    pub change: &'static str,
    pub fixed: &'static str,
    pub broke: &'static str,
    pub appeared: &'static str,
    pub disappeared: &'static str,
    pub changed_findings: &'static str,
    pub added: &'static str,
    pub removed: &'static str,
    pub findings_added: &'static str,
    pub findings_removed: &'static str,
    pub status: &'static str,
    pub nothing: &'static str,
    pub level: &'static str,
    pub parent: &'static str,
    /// `：` in Chinese, `: ` in English.
    pub colon: &'static str,
}

static ZH_TW: Labels = Labels {
    title: "政府網站導入 HTTPS 現況",
    diff_title: "兩次掃描比較",
    group: "機關類別",
    agency: "機關",
    count: "數量",
    adopted: "已導入HTTPS",
    forced: "強制導入",
    ratio: "導入比率",
    forced_ratio: "強制導入比率",
    total: "合計",
    ndc_table: "導入現況",
    bars: "各類別導入比率",
    agency_tree: "機關層級統計",
    findings: "錯誤態樣統計",
    code: "代碼",
    meaning: "說明",
    severity: "嚴重度",
    sites: "網站數",
    failing: "未符合網站與修正方式",
    site: "網站",
    finding: "問題",
    detail: "細節",
    fix: "修正方式",
    notes: "附註",
    scanned: "掃描時間",
    filter: "篩選機關",
    none_failing: "所有網站皆已導入並強制導入 HTTPS。",
    chrome_only: "僅 Chrome 不信任的網站",
    chrome_only_note: "下列網站在 Firefox（Mozilla 信任清單）顯示安全鎖頭，在 Chrome 則否：多為 Chrome 不再信任的根憑證所簽發（中華電信 HiPKI 於 2025-07-31 後、TWCA Global Root CA 於 2026-09-14 後簽發者），須向 Chrome 信任的憑證機構重新申請憑證。",
    uncategorised: "（未分類）",
    no_agency: "（未填機關）",
    no_finding: "（無對應問題代碼）",
    yes: "是",
    no: "否",
    sev_error: "錯誤",
    sev_warning: "警告",
    sev_info: "資訊",
    old: "前次",
    new: "本次",
    change: "增減",
    fixed: "已改善",
    broke: "退步",
    appeared: "新增網站",
    disappeared: "移除網站",
    changed_findings: "問題代碼變動",
    added: "新增",
    removed: "消除",
    findings_added: "新增問題",
    findings_removed: "消除問題",
    status: "狀態",
    nothing: "無",
    level: "層級",
    parent: "上級機關",
    colon: "：",
};

static EN: Labels = Labels {
    title: "HTTPS adoption of government websites",
    diff_title: "Comparison of two scans",
    group: "Group",
    agency: "Agency",
    count: "Count",
    adopted: "HTTPS adopted",
    forced: "HTTPS forced",
    ratio: "Adoption ratio",
    forced_ratio: "Forced ratio",
    total: "Total",
    ndc_table: "Adoption status",
    bars: "Adoption per group",
    agency_tree: "Agency tree",
    findings: "Findings",
    code: "Code",
    meaning: "Meaning",
    severity: "Severity",
    sites: "Sites",
    failing: "Failing sites and fixes",
    site: "Site",
    finding: "Finding",
    detail: "Detail",
    fix: "Fix",
    notes: "Notes",
    scanned: "Scanned",
    filter: "Agency filter",
    none_failing: "Every site has HTTPS adopted and forced.",
    chrome_only: "Sites only Chrome refuses",
    chrome_only_note: "These sites show the padlock in Firefox (Mozilla's store) but not in Chrome, mostly because Chrome no longer trusts their root for certificates issued after a date (Chunghwa Telecom's HiPKI after 2025-07-31, TWCA Global Root CA after 2026-09-14): re-issue from a CA Chrome trusts.",
    uncategorised: "(uncategorised)",
    no_agency: "(no agency)",
    no_finding: "(no finding code)",
    yes: "yes",
    no: "no",
    sev_error: "error",
    sev_warning: "warning",
    sev_info: "info",
    old: "old",
    new: "new",
    change: "change",
    fixed: "fixed",
    broke: "broke",
    appeared: "appeared",
    disappeared: "disappeared",
    changed_findings: "Finding changes",
    added: "added",
    removed: "removed",
    findings_added: "findings added",
    findings_removed: "findings removed",
    status: "status",
    nothing: "none",
    level: "Level",
    parent: "Parent",
    colon: ": ",
};

/// The words for one code.
struct Texts {
    meaning_zh: &'static str,
    meaning_en: &'static str,
    fix_zh: &'static str,
    fix_en: &'static str,
}

const UNKNOWN: &Texts = &Texts {
    meaning_zh: "其他問題",
    meaning_en: "another problem",
    fix_zh: "請依細節說明檢查網站設定",
    fix_en: "check the site's configuration against the detail",
};

/// The words for `code`; `None` only for a code added to the model after this table (the
/// unit tests check that every code of `Code::ALL` has its own words).
fn texts(code: Code) -> Option<&'static Texts> {
    macro_rules! t {
        ($mz:literal, $me:literal, $fz:literal, $fe:literal) => {
            &Texts {
                meaning_zh: $mz,
                meaning_en: $me,
                fix_zh: $fz,
                fix_en: $fe,
            }
        };
    }
    Some(match code {
        Code::DnsNxdomain => t!(
            "網域名稱不存在",
            "the name does not exist",
            "確認網址正確，並請網域管理者恢復 DNS 紀錄；網站已停用則自清單移除",
            "check the address and have the domain's administrator restore its DNS record; if the site was retired, remove it from the list"
        ),
        Code::DnsFailed => t!(
            "DNS 解析失敗或逾時",
            "name resolution failed or timed out",
            "檢查網域的權威 DNS 伺服器能正常回應查詢",
            "make sure the domain's authoritative DNS servers answer queries"
        ),
        Code::HttpUnreachable => t!(
            "80 埠（http）沒有回應",
            "nothing answers on port 80 (http)",
            "開啟 80 埠，並將所有 http:// 請求以 301 轉址到 https://",
            "open port 80 and redirect every http:// request to https:// with a 301"
        ),
        Code::HttpsUnreachable => t!(
            "443 埠（https）沒有回應",
            "nothing answers on port 443 (https)",
            "啟用 HTTPS：在網站伺服器設定 443 埠與有效憑證，並於防火牆開放 443 埠",
            "enable HTTPS: serve port 443 with a valid certificate and open port 443 in the firewall"
        ),
        Code::Timeout => t!(
            "連線或回應逾時",
            "a connection or response took too long",
            "檢查伺服器負載、防火牆與網路，讓網站在時限內回應",
            "check the server's load, firewall and network so that the site answers in time"
        ),
        Code::TlsHandshakeFailed => t!(
            "TLS 交握失敗",
            "the TLS handshake failed",
            "檢查 TLS 設定：啟用 TLS 1.2 以上與現行加密套件，並安裝完整憑證",
            "check the TLS configuration: enable TLS 1.2 or newer with current cipher suites and install the full certificate"
        ),
        Code::TlsLegacyOnly => t!(
            "僅支援 TLS 1.1 以下的舊版協定",
            "the server speaks only TLS 1.1 or older",
            "更新伺服器軟體，啟用 TLS 1.2 與 TLS 1.3",
            "update the server software and enable TLS 1.2 and TLS 1.3"
        ),
        Code::TlsLegacySupported => t!(
            "仍接受 TLS 1.0/1.1",
            "TLS 1.0/1.1 still accepted",
            "在伺服器設定中停用 TLS 1.0 與 TLS 1.1",
            "disable TLS 1.0 and TLS 1.1 in the server configuration"
        ),
        Code::CertHostnameMismatch => t!(
            "SSL憑證主體與網域不符",
            "the certificate does not match the domain",
            "重新申請與網域相符的憑證",
            "re-issue a certificate that covers the domain"
        ),
        Code::CertExpired => t!(
            "憑證已過期",
            "the certificate has expired",
            "更新憑證並安裝到網站伺服器",
            "renew the certificate and install it on the server"
        ),
        Code::CertNotYetValid => t!(
            "憑證尚未生效",
            "the certificate is not valid yet",
            "確認伺服器時間正確，或改裝已生效的憑證",
            "check the server's clock, or install a certificate that is already valid"
        ),
        Code::CertSelfSigned => t!(
            "自簽憑證",
            "a self-signed certificate",
            "改用受信任憑證機構簽發的憑證",
            "replace it with a certificate issued by a trusted certificate authority"
        ),
        Code::CertUntrusted => t!(
            "憑證鏈不受瀏覽器信任",
            "the certificate chain is not trusted by browsers",
            "改用瀏覽器信任之憑證機構簽發的憑證（政府憑證 GCA 已不在 Mozilla 信任清單）",
            "use a certificate from an authority browsers trust (the government CA, GCA, is no longer in Mozilla's store)"
        ),
        Code::CertDistrusted => t!(
            "憑證鏈的根憑證已不受 Chrome 信任（依簽發日期）",
            "the chain's root is no longer trusted by the browser for certificates like this one",
            "向 Chrome 信任的憑證機構重新申請憑證：Chrome 139 起不信任中華電信 HiPKI 根憑證於 2025-07-31 後簽發（SCT 日期）的憑證，Chrome 153 起不信任 TWCA Global Root CA 於 2026-09-14 後簽發的憑證",
            "re-issue the certificate from a CA Chrome trusts: from Chrome 139, Chrome distrusts certificates under Chunghwa Telecom's HiPKI root with SCTs after 2025-07-31; from Chrome 153, those under TWCA Global Root CA with SCTs after 2026-09-14"
        ),
        Code::CertChainIncomplete => t!(
            "伺服器未送出中繼憑證",
            "the server omits an intermediate certificate",
            "在伺服器安裝完整憑證鏈（含中繼憑證）",
            "install the full chain, intermediate certificates included, on the server"
        ),
        Code::CertWeakSignature => t!(
            "憑證使用 SHA-1/MD5 簽章",
            "a SHA-1/MD5 signature in the chain",
            "重新申請以 SHA-256 簽章的憑證",
            "re-issue the certificate with a SHA-256 signature"
        ),
        Code::CertWeakKey => t!(
            "RSA 金鑰小於 2048 位元",
            "an RSA key under 2048 bits",
            "產生 2048 位元以上的新金鑰，並重新申請憑證",
            "generate a new key of at least 2048 bits and re-issue the certificate"
        ),
        Code::CertExpiringSoon => t!(
            "憑證將於 30 天內到期",
            "the certificate expires within 30 days",
            "在到期前更新憑證",
            "renew the certificate before it expires"
        ),
        Code::NoHttpsRedirect => t!(
            "http:// 未轉址到 https://",
            "http:// does not send visitors to https://",
            "設定伺服器將所有 http:// 請求以 301 轉址到 https://",
            "redirect every http:// request to https:// with a 301"
        ),
        Code::RedirectDowngrade => t!(
            "https 網址轉址回 http",
            "an https URL redirects back to http",
            "移除將 https 導回 http 的轉址設定",
            "remove the redirect that sends https visitors back to http"
        ),
        Code::RedirectLoop => t!(
            "轉址無限循環或次數過多",
            "the redirects never end",
            "修正轉址規則，使其在 https 網址結束",
            "fix the redirect rules so that they end at an https URL"
        ),
        Code::RedirectMetaRefresh => t!(
            "僅以 meta refresh 導向 https",
            "forced only by a meta refresh",
            "改用伺服器端 301 轉址",
            "use a server-side 301 redirect instead"
        ),
        Code::HstsMissing => t!(
            "未設定 HSTS",
            "no Strict-Transport-Security header",
            "在 https 回應加上 Strict-Transport-Security: max-age=31536000",
            "add Strict-Transport-Security: max-age=31536000 to the https responses"
        ),
        Code::HstsShort => t!(
            "HSTS 有效期不足一年",
            "HSTS max-age under one year",
            "將 HSTS max-age 提高到至少 31536000（一年）",
            "raise the HSTS max-age to at least 31536000 (one year)"
        ),
        Code::MixedContentActive => t!(
            "混合內容：以 http 載入指令碼、樣式表等（瀏覽器封鎖）",
            "mixed content: scripts, stylesheets and the like over http (blocked)",
            "用瀏覽器開發人員工具的 Security 面板找出每個 http:// 指令碼、樣式表、字型與框架，逐頁改為 https://",
            "find each http:// script, stylesheet, font and frame with the browser's DevTools Security panel and change it to https://, page by page"
        ),
        Code::MixedContentPassive => t!(
            "混合內容：以 http 載入圖片、影音",
            "mixed content: images, audio or video over http",
            "將每個 http:// 圖片與影音參照改為 https://，並確認 https 版本存在",
            "change each http:// image, audio and video reference to https:// and make sure the https copy exists"
        ),
        Code::InsecureForm => t!(
            "表單送往 http 網址",
            "a form posts to http",
            "將表單的 action 改為 https:// 網址",
            "change the form's action to an https:// URL"
        ),
        Code::TargetPrivate => t!(
            "網域解析到內部網路位址",
            "the name resolves to a private address",
            "將公開的 DNS 紀錄指向公開網路位址",
            "point the public DNS record to a public address"
        ),
        Code::TargetExcluded => t!(
            "依管理者設定排除，未掃描",
            "excluded by the operator: not contacted",
            "若此網站應納入檢測，自排除清單（--exclude）移除",
            "remove it from the exclusion list (--exclude) if it should be scanned"
        ),
        Code::ScanFailed => t!(
            "掃描未能完成",
            "the scan could not finish",
            "重新掃描；若仍失敗，依細節說明檢查",
            "scan again; if it keeps failing, check what the detail says"
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_meaning_and_fix_in_both_languages() {
        for &code in Code::ALL {
            let t = texts(code).unwrap_or_else(|| panic!("no words for {code}"));
            for s in [t.meaning_zh, t.meaning_en, t.fix_zh, t.fix_en] {
                assert!(!s.trim().is_empty(), "{code}");
            }
            assert_ne!(t.fix_zh, t.fix_en, "{code}");
        }
    }

    #[test]
    fn the_documents_fix_for_error_type_one() {
        assert_eq!(
            Lang::ZhTw.fix(Code::CertHostnameMismatch),
            "重新申請與網域相符的憑證"
        );
        assert_eq!(
            Lang::En.fix(Code::CertHostnameMismatch),
            "re-issue a certificate that covers the domain"
        );
    }

    #[test]
    fn language_tags_parse() {
        assert_eq!("zh-TW".parse::<Lang>(), Ok(Lang::ZhTw));
        assert_eq!("zh_tw".parse::<Lang>(), Ok(Lang::ZhTw));
        assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
        assert!("fr".parse::<Lang>().is_err());
    }
}
