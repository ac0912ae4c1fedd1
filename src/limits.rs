//! Resource limits as users write them (`4`, `500m` CPU; `8g`, `2Gi` memory)
//! and as the engines want them.

use serde::{Deserialize, Serialize};

/// CPU limit in thousandths of a core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cpu(pub u64);

/// Memory limit in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory(pub u64);

const MIB: u64 = 1024 * 1024;
/// Docker refuses smaller memory limits.
const MIN_MEMORY: u64 = 6 * MIB;

impl Cpu {
    pub fn parse(text: &str) -> Result<Cpu, String> {
        let t = text.trim();
        let bad = || {
            format!(
                "invalid CPU limit {text:?}: use a number of cores (`4`, `1.5`) or millicores (`500m`)"
            )
        };
        let millis = if let Some(m) = t.strip_suffix('m') {
            m.parse::<u64>().map_err(|_| bad())?
        } else {
            let cores: f64 = t.parse().map_err(|_| bad())?;
            if !cores.is_finite() || cores < 0.0 {
                return Err(bad());
            }
            (cores * 1000.0).round() as u64
        };
        if millis < 10 {
            return Err(format!(
                "CPU limit {text:?} is too small: the minimum is 0.01 cores (`10m`)"
            ));
        }
        Ok(Cpu(millis))
    }

    /// `--cpus` value: cores with up to three decimals, no trailing zeros.
    pub fn docker(self) -> String {
        let whole = self.0 / 1000;
        let frac = self.0 % 1000;
        if frac == 0 {
            return whole.to_string();
        }
        let frac = format!("{frac:03}");
        format!("{whole}.{}", frac.trim_end_matches('0'))
    }

    /// A Kubernetes CPU quantity: whole cores, else millicores (`500m`).
    pub fn kube(self) -> String {
        if self.0.is_multiple_of(1000) {
            (self.0 / 1000).to_string()
        } else {
            format!("{}m", self.0)
        }
    }
}

impl Memory {
    pub fn parse(text: &str) -> Result<Memory, String> {
        let t = text.trim();
        let bad = || {
            format!(
                "invalid memory limit {text:?}: use a size like `512m`, `8g`, `2Gi` or a number of bytes"
            )
        };
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let n: f64 = digits.parse().map_err(|_| bad())?;
        // Docker's units are binary whatever their case; Kubernetes' `Ki`/`Mi`/`Gi`
        // are binary too. So both notations mean the same sizes here.
        let factor: u64 = match unit {
            "" | "b" | "B" => 1,
            "k" | "K" | "Ki" | "kb" | "KB" | "KiB" => 1024,
            "m" | "M" | "Mi" | "mb" | "MB" | "MiB" => MIB,
            "g" | "G" | "Gi" | "gb" | "GB" | "GiB" => 1024 * MIB,
            "t" | "T" | "Ti" | "tb" | "TB" | "TiB" => 1024 * 1024 * MIB,
            _ => return Err(bad()),
        };
        let bytes = n * factor as f64;
        if !bytes.is_finite() || bytes > u64::MAX as f64 {
            return Err(bad());
        }
        let bytes = bytes.round() as u64;
        if bytes < MIN_MEMORY {
            return Err(format!(
                "memory limit {text:?} is too small: containers need at least 6m"
            ));
        }
        Ok(Memory(bytes))
    }

    /// `--memory` value in the largest unit that divides it exactly.
    pub fn docker(self) -> String {
        for (unit, size) in [
            ("t", 1024 * 1024 * MIB),
            ("g", 1024 * MIB),
            ("m", MIB),
            ("k", 1024),
        ] {
            if self.0.is_multiple_of(size) {
                return format!("{}{unit}", self.0 / size);
            }
        }
        format!("{}b", self.0)
    }

    /// A Kubernetes memory quantity in the largest binary unit that divides
    /// it exactly (`8g` is `8Gi`), else bytes.
    pub fn kube(self) -> String {
        for (unit, size) in [
            ("Ti", 1024 * 1024 * MIB),
            ("Gi", 1024 * MIB),
            ("Mi", MIB),
            ("Ki", 1024),
        ] {
            if self.0.is_multiple_of(size) {
                return format!("{}{unit}", self.0 / size);
            }
        }
        self.0.to_string()
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub cpu: Option<Cpu>,
    pub memory: Option<Memory>,
    /// The container's relative CPU weight (`--cpu-shares`; 1024 is the
    /// engines' default). Docker, Podman and compose only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_accepts_cores_and_millicores() {
        assert_eq!(Cpu::parse("4").unwrap().docker(), "4");
        assert_eq!(Cpu::parse("500m").unwrap().docker(), "0.5");
        assert_eq!(Cpu::parse("1.25").unwrap().docker(), "1.25");
        assert_eq!(Cpu::parse("1500m").unwrap().docker(), "1.5");
        for bad in ["", "abc", "-1", "0", "5x", "1m", "NaN"] {
            assert!(Cpu::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn memory_accepts_docker_and_kubernetes_units() {
        assert_eq!(Memory::parse("8g").unwrap().docker(), "8g");
        assert_eq!(Memory::parse("2Gi").unwrap().docker(), "2g");
        assert_eq!(Memory::parse("512Mi").unwrap().docker(), "512m");
        assert_eq!(Memory::parse("1536m").unwrap().docker(), "1536m");
        assert_eq!(Memory::parse("1024m").unwrap().docker(), "1g");
        assert_eq!(Memory::parse("10485760").unwrap().docker(), "10m");
        assert_eq!(Memory::parse("1.5g").unwrap().docker(), "1536m");
        assert_eq!(Memory::parse("8g").unwrap().kube(), "8Gi");
        assert_eq!(Memory::parse("1.5g").unwrap().kube(), "1536Mi");
        assert_eq!(Cpu::parse("500m").unwrap().kube(), "500m");
        assert_eq!(Cpu::parse("4").unwrap().kube(), "4");
        assert_eq!(Cpu::parse("1.5").unwrap().kube(), "1500m");
        for bad in ["", "8x", "g", "1m", "-1g", "99999999999999999999g"] {
            assert!(Memory::parse(bad).is_err(), "{bad}");
        }
    }
}
