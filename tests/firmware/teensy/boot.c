/*
 * Boot headers the i.MX RT1062 ROM reads from the start of FlexSPI NOR flash:
 * the FlexSPI configuration block at offset 0, the image vector table (IVT)
 * and boot data at offset 0x1000. The IVT's entry is ResetHandler itself:
 * this image has no vector table in flash (startup.c builds one in DTCM).
 *
 * Field layout after the i.MX RT1060 reference manual (FlexSPI NOR
 * configuration block, "Image Vector Table"); values for a generic quad-SPI
 * NOR at 133 MHz. The hotlink fixtures boot without the ROM, but the bytes are
 * what the linker must place and fill correctly.
 */
#include "teensy.h"

void ResetHandler(void);

struct flexspi_nor_config {
    uint32_t tag;                 /* 0x000 'FCFB' */
    uint32_t version;             /* 0x004 */
    uint32_t reserved0;           /* 0x008 */
    uint8_t read_sample_clk_src;  /* 0x00C 1: loopback from DQS pad */
    uint8_t cs_hold_time;         /* 0x00D */
    uint8_t cs_setup_time;        /* 0x00E */
    uint8_t column_address_width; /* 0x00F */
    uint8_t reserved1[0x44 - 0x10];
    uint8_t controller_misc;      /* 0x044 */
    uint8_t device_type;          /* 0x045 1: serial NOR */
    uint8_t pad_type;             /* 0x046 4: quad */
    uint8_t clk_freq;             /* 0x047 7: 133 MHz */
    uint8_t reserved2[0x50 - 0x48];
    uint32_t flash_a1_size;       /* 0x050 */
    uint8_t reserved3[0x80 - 0x54];
    uint32_t lut[64];             /* 0x080 look-up table: sequence 0 is the read */
    uint8_t reserved4[0x1C0 - 0x180];
    uint32_t page_size;           /* 0x1C0 */
    uint32_t sector_size;         /* 0x1C4 */
    uint8_t reserved5[0x200 - 0x1C8];
};

/* One LUT instruction pair: opcode, pads, operand for each half. */
#define LUT_SEQ(op0, pad0, arg0, op1, pad1, arg1)                                         \
    ((uint32_t)(((op0) << 10) | ((pad0) << 8) | (arg0)) |                                  \
     ((uint32_t)(((op1) << 10) | ((pad1) << 8) | (arg1)) << 16))
#define CMD_SDR 0x01
#define RADDR_SDR 0x02
#define DUMMY_SDR 0x0C
#define READ_SDR 0x09
#define PADS_1 0
#define PADS_4 2

__attribute__((section(".flashconfig"), used)) const struct flexspi_nor_config flexspi_boot_config = {
    .tag = 0x42464346u,
    .version = 0x56010400u,
    .read_sample_clk_src = 1,
    .cs_hold_time = 3,
    .cs_setup_time = 3,
    .device_type = 1,
    .pad_type = 4,
    .clk_freq = 7,
    .flash_a1_size = 2048u * 1024u,
    .lut = {
        /* Quad I/O fast read (0xEB): command, 24-bit address on 4 pads, 6 dummy cycles, data. */
        LUT_SEQ(CMD_SDR, PADS_1, 0xEB, RADDR_SDR, PADS_4, 24),
        LUT_SEQ(DUMMY_SDR, PADS_4, 6, READ_SDR, PADS_4, 4),
    },
    .page_size = 256,
    .sector_size = 4096,
};

extern const uint32_t ImageVectorTable[8];

__attribute__((section(".bootdata"), used)) const uint32_t BootData[3] = {
    0x60000000u,                       /* image start */
    (uint32_t)(uintptr_t)_flashimagelen, /* image length, computed by the script */
    0,                                 /* plugin flag */
};

__attribute__((section(".ivt"), used)) const uint32_t ImageVectorTable[8] = {
    0x402000D1u, /* tag 0xD1, length 0x0020 (big-endian), version 0x40 */
    (uint32_t)(uintptr_t)ResetHandler,
    0,           /* reserved */
    0,           /* DCD: none */
    (uint32_t)(uintptr_t)BootData,
    (uint32_t)(uintptr_t)ImageVectorTable,
    0,           /* CSF: not signed */
    0,
};

/* Placeholder for a HAB command sequence file: last thing in flash. */
__attribute__((section(".csf"), used)) const uint32_t csf_placeholder[4] = {
    0x43534600u, 0, 0, 0,
};
