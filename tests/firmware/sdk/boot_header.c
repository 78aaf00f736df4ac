/*
 * sdk fixture: the FlexSPI NOR boot header the i.MX RT1060 boot ROM reads.
 *
 *   0x6000_0000  FlexSPI configuration block (FCB, tag "FCFB", version 1.4.0)
 *   0x6000_1000  image vector table (IVT, tag 0xD1), its entry = the vector table
 *   0x6000_1020  boot data (image start and size)
 *   0x6000_1030  device configuration data (DCD): register writes and checks the
 *                ROM executes before jumping to the entry
 *
 * Layouts are facts from the reference manual's System Boot chapter (FlexSPI NOR
 * configuration block, Program image, DCD) and the HAB4 DCD command format.
 */
#include <stdint.h>

/* Little-endian word at a byte offset of the FCB. */
#define LE32(off, v) [(off)] = (uint8_t)(v), [(off) + 1] = (uint8_t)((v) >> 8), \
                     [(off) + 2] = (uint8_t)((v) >> 16), [(off) + 3] = (uint8_t)((v) >> 24)
/* Big-endian word, the byte order of the DCD. */
#define BE32(v) (uint8_t)((v) >> 24), (uint8_t)((v) >> 16), (uint8_t)((v) >> 8), (uint8_t)(v)
#define BE16(v) (uint8_t)((v) >> 8), (uint8_t)(v)

/* LUT instruction: two 16-bit instructions per word (opcode 6 bits, pads 2, operand 8). */
#define LUT_INSN(op, pads, operand) ((uint32_t)(((op) << 10) | ((pads) << 8) | (operand)))
#define LUT_PAIR(a, b) ((a) | ((b) << 16))
#define LUT_CMD_SDR 0x01
#define LUT_RADDR_SDR 0x02
#define LUT_DUMMY_SDR 0x0C
#define LUT_READ_SDR 0x09
#define PADS_1 0
#define PADS_4 2

__attribute__((section(".boot_hdr.conf"), used, aligned(4)))
const uint8_t flexspi_config_block[512] = {
    LE32(0x000, 0x42464346u),  /* tag "FCFB" */
    LE32(0x004, 0x56010400u),  /* version 1.4.0 */
    [0x00C] = 1,               /* readSampleClkSrc: loopback from DQS pad */
    [0x00D] = 3,               /* csHoldTime */
    [0x00E] = 3,               /* csSetupTime */
    [0x044] = 1,               /* deviceType: serial NOR */
    [0x045] = 4,               /* sflashPadType: quad */
    [0x046] = 7,               /* serialClkFreq: 133 MHz */
    LE32(0x050, 0x00800000u),  /* sflashA1Size: 8 MB */
    /* lookupTable[0]: quad fast read (0xEB), 24-bit address, 6 dummy cycles, read. */
    LE32(0x080, LUT_PAIR(LUT_INSN(LUT_CMD_SDR, PADS_1, 0xEB), LUT_INSN(LUT_RADDR_SDR, PADS_4, 0x18))),
    LE32(0x084, LUT_PAIR(LUT_INSN(LUT_DUMMY_SDR, PADS_4, 0x06), LUT_INSN(LUT_READ_SDR, PADS_4, 0x04))),
    LE32(0x1C0, 256u),         /* pageSize */
    LE32(0x1C4, 4096u),        /* sectorSize */
    [0x1C8] = 0,               /* ipCmdSerialClkFreq: unchanged */
    LE32(0x1D0, 65536u),       /* blockSize */
};

extern const uint32_t __VECTOR_TABLE[];
extern const uint8_t __FLASH_BASE[];
extern const uint8_t __boot_image_size[];   /* absolute symbol: its address is the size */
extern const uint8_t boot_dcd[];

struct boot_data {
    uint32_t start;
    uint32_t size;
    uint32_t plugin;
    uint32_t placeholder;
};

struct ivt {
    uint32_t header;
    uint32_t entry;
    uint32_t reserved1;
    uint32_t dcd;
    uint32_t boot_data;
    uint32_t self;
    uint32_t csf;
    uint32_t reserved2;
};

__attribute__((section(".boot_hdr.boot_data"), used))
const struct boot_data image_boot_data = {
    .start = (uint32_t)__FLASH_BASE,
    .size = (uint32_t)__boot_image_size,
    .plugin = 0,
    .placeholder = 0xFFFFFFFFu,
};

__attribute__((section(".boot_hdr.ivt"), used))
const struct ivt image_vector_table = {
    .header = 0x412000D1u,     /* tag 0xD1, length 0x0020 (big-endian), version 4.1 */
    .entry = (uint32_t)__VECTOR_TABLE,
    .reserved1 = 0,
    .dcd = (uint32_t)boot_dcd,
    .boot_data = (uint32_t)&image_boot_data,
    .self = (uint32_t)&image_vector_table,
    .csf = 0,
    .reserved2 = 0,
};

/*
 * The DCD: open the clock gates the console and GPIOs need, mux the LPUART1 pins,
 * wait until the CCM has no divider handshake pending and the 528 MHz system PLL
 * the ROM runs from is locked, then a NOP. Command parameters: bits 2:0 = width
 * in bytes, bit 3 = mask, bit 4 = set.
 */
#define DCD_WRITE_LEN (4 + 4 * 8)
#define DCD_CHECK_LEN 12
#define DCD_LEN (4 + DCD_WRITE_LEN + 2 * DCD_CHECK_LEN + 4)

__attribute__((section(".boot_hdr.dcd_data"), used))
const uint8_t boot_dcd[DCD_LEN] = {
    0xD2, BE16(DCD_LEN), 0x41,
    /* write value, 32-bit */
    0xCC, BE16(DCD_WRITE_LEN), 0x04,
    BE32(0x400FC07Cu), BE32(0xFFFFFFFFu),  /* CCM_CCGR5: LPUART1, WDOGs, ... */
    BE32(0x401F80BCu), BE32(0x00000002u),  /* IOMUXC mux GPIO_AD_B0_12: LPUART1_TX */
    BE32(0x401F80C0u), BE32(0x00000002u),  /* IOMUXC mux GPIO_AD_B0_13: LPUART1_RX */
    BE32(0x401F82ACu), BE32(0x000010B0u),  /* IOMUXC pad GPIO_AD_B0_12 */
    /* check: all of CDHIPR's busy bits clear */
    0xCF, BE16(DCD_CHECK_LEN), 0x04,
    BE32(0x400FC048u), BE32(0x0001002Bu),
    /* check: PLL_SYS LOCK set */
    0xCF, BE16(DCD_CHECK_LEN), 0x14,
    BE32(0x400D8030u), BE32(0x80000000u),
    /* nop */
    0xC0, 0x00, 0x04, 0x00,
};
