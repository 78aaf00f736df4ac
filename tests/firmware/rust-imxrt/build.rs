//! imxrt-rt's build-time API: a 2 MiB FlexSPI NOR flash on an RT1060, the runtime's default
//! FlexRAM split and section placement (code, vectors and data in the TCMs, copied at boot).
use imxrt_rt::{Family, RuntimeBuilder};

fn main() {
    RuntimeBuilder::from_flexspi(Family::Imxrt1060, 2 * 1024 * 1024)
        .build()
        .unwrap();
}
