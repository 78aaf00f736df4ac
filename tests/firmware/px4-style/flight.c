/*
 * px4-style fixture: a flight-controller loop in the shape of PX4's hot path,
 * in fixed point (Q16) so that every run gives the same bits: sample the IMU,
 * low-pass filter it, update the attitude estimate, run the rate controller,
 * mix to four motors, publish each result on a uORB-like topic and log a
 * CRC-32 of what was published. Parameter parsing and calibration run once
 * (cold); the error reporters never run. The CRC of the whole flight is
 * compared with the value the same code gives on the host.
 */
#include "hotlink_fw.h"

#define STEPS 3000
/* The same file compiled for the host (integer arithmetic only: the same bits). */
#define EXPECTED_CRC 0x031b67c7u
#define Q16(x) ((int32_t)((x) * 65536))

typedef struct {
    int32_t x, y, z;
} vec3;

typedef struct {
    uint32_t generation;
    uint8_t data[32];
} topic;

static uint32_t rng_state = 0x2545F491u;
static topic t_sensor_gyro, t_attitude, t_rates_sp, t_actuator;
static int32_t gains[6];
static vec3 gyro_bias;

__attribute__((noinline)) static uint32_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

__attribute__((noinline, cold)) void px4_report_error(const char *what, int32_t value)
{
    sh_puts("FAIL: ");
    sh_puts(what);
    sh_put_i32(value);
    sh_putc('\n');
    sh_exit(2);
}

__attribute__((noinline, cold)) int32_t param_parse(const char *text)
{
    int32_t sign = 1, whole = 0, frac = 0, scale = 1;
    if (*text == '-') {
        sign = -1;
        text++;
    }
    while (*text >= '0' && *text <= '9')
        whole = whole * 10 + (*text++ - '0');
    if (*text == '.') {
        text++;
        while (*text >= '0' && *text <= '9' && scale < 10000) {
            frac = frac * 10 + (*text++ - '0');
            scale *= 10;
        }
    }
    if (*text != '\0')
        px4_report_error("param_parse: junk", *text);
    return sign * (whole * 65536 + (int32_t)(((int64_t)frac * 65536) / scale));
}

__attribute__((noinline, cold)) void gyro_calibrate(void)
{
    int64_t sx = 0, sy = 0, sz = 0;
    for (int i = 0; i < 64; i++) {
        sx += (int32_t)(rng_next() & 0xFFF) - 0x800;
        sy += (int32_t)(rng_next() & 0xFFF) - 0x800;
        sz += (int32_t)(rng_next() & 0xFFF) - 0x800;
    }
    gyro_bias.x = (int32_t)(sx / 64);
    gyro_bias.y = (int32_t)(sy / 64);
    gyro_bias.z = (int32_t)(sz / 64);
}

__attribute__((noinline)) void imu_sample(int step, vec3 *gyro, vec3 *accel)
{
    int32_t phase = (step * 37) & 0x3FF;
    int32_t wave = phase < 0x200 ? phase - 0x100 : 0x300 - phase;
    gyro->x = wave * 64 + (int32_t)(rng_next() & 0x3FF) - 0x200 - gyro_bias.x;
    gyro->y = -wave * 32 + (int32_t)(rng_next() & 0x3FF) - 0x200 - gyro_bias.y;
    gyro->z = wave * 16 + (int32_t)(rng_next() & 0x1FF) - 0x100 - gyro_bias.z;
    accel->x = (int32_t)(rng_next() & 0x7FF) - 0x400;
    accel->y = (int32_t)(rng_next() & 0x7FF) - 0x400;
    accel->z = Q16(9.81) + (int32_t)(rng_next() & 0xFFF) - 0x800;
}

__attribute__((noinline)) void lowpass_update(vec3 *state, const vec3 *in, int shift)
{
    state->x += (in->x - state->x) >> shift;
    state->y += (in->y - state->y) >> shift;
    state->z += (in->z - state->z) >> shift;
}

static int32_t qmul(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b) >> 16);
}

__attribute__((noinline)) void attitude_update(vec3 *att, const vec3 *gyro, const vec3 *accel)
{
    /* Complementary filter: integrate the rates, pull roll/pitch towards the
     * gravity direction. dt = 1/1024 s. */
    int32_t roll_acc = qmul(accel->y, Q16(0.1));
    int32_t pitch_acc = -qmul(accel->x, Q16(0.1));
    att->x += gyro->x >> 10;
    att->y += gyro->y >> 10;
    att->z += gyro->z >> 10;
    att->x = qmul(att->x, Q16(0.98)) + qmul(roll_acc, Q16(0.02));
    att->y = qmul(att->y, Q16(0.98)) + qmul(pitch_acc, Q16(0.02));
}

__attribute__((noinline)) void rate_control_run(const vec3 *rate, const vec3 *setpoint, vec3 *integral,
                                                vec3 *torque)
{
    const int32_t limit = Q16(0.3);
    int32_t err[3] = { setpoint->x - rate->x, setpoint->y - rate->y, setpoint->z - rate->z };
    int32_t *integ[3] = { &integral->x, &integral->y, &integral->z };
    int32_t *out[3] = { &torque->x, &torque->y, &torque->z };
    for (int axis = 0; axis < 3; axis++) {
        int32_t i = *integ[axis] + (qmul(err[axis], gains[3 + axis]) >> 10);
        if (i > limit)
            i = limit;
        if (i < -limit)
            i = -limit;
        *integ[axis] = i;
        *out[axis] = qmul(err[axis], gains[axis]) + i;
    }
}

__attribute__((noinline)) void mixer_mix(const vec3 *torque, int32_t thrust, int32_t motors[4])
{
    static const int8_t roll[4] = { -1, 1, 1, -1 }, pitch[4] = { 1, -1, 1, -1 }, yaw[4] = { 1, 1, -1, -1 };
    for (int m = 0; m < 4; m++) {
        int32_t out = thrust + roll[m] * torque->x + pitch[m] * torque->y + yaw[m] * torque->z;
        if (out < 0)
            out = 0;
        if (out > Q16(1.0))
            out = Q16(1.0);
        motors[m] = out;
    }
}

__attribute__((noinline)) void orb_publish(topic *t, const void *data, uint32_t len)
{
    const uint8_t *src = data;
    for (uint32_t i = 0; i < len && i < sizeof t->data; i++)
        t->data[i] = src[i];
    t->generation++;
}

__attribute__((noinline)) uint32_t logger_crc32(uint32_t crc, const topic *t)
{
    crc = ~crc;
    for (uint32_t i = 0; i < sizeof t->data; i++) {
        crc ^= t->data[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1u));
    }
    return ~crc;
}

int main(void)
{
    static const char *const params[6] = { "0.15", "0.15", "0.2", "0.05", "0.05", "0.1" };
    for (int i = 0; i < 6; i++)
        gains[i] = param_parse(params[i]);
    gyro_calibrate();

    vec3 gyro, accel, gyro_f = { 0, 0, 0 }, accel_f = { 0, 0, Q16(9.81) }, att = { 0, 0, 0 };
    vec3 setpoint, integral = { 0, 0, 0 }, torque;
    int32_t motors[4];
    uint32_t crc = 0;
    for (int step = 0; step < STEPS; step++) {
        imu_sample(step, &gyro, &accel);
        lowpass_update(&gyro_f, &gyro, 2);
        lowpass_update(&accel_f, &accel, 4);
        orb_publish(&t_sensor_gyro, &gyro_f, sizeof gyro_f);
        attitude_update(&att, &gyro_f, &accel_f);
        orb_publish(&t_attitude, &att, sizeof att);
        setpoint.x = -att.x * 4;
        setpoint.y = -att.y * 4;
        setpoint.z = 0;
        orb_publish(&t_rates_sp, &setpoint, sizeof setpoint);
        rate_control_run(&gyro_f, &setpoint, &integral, &torque);
        mixer_mix(&torque, Q16(0.5), motors);
        orb_publish(&t_actuator, motors, sizeof motors);
        crc = logger_crc32(crc, &t_actuator);
        if (step % 16 == 0)
            crc = logger_crc32(crc, &t_attitude);
    }
    if (t_actuator.generation != STEPS)
        px4_report_error("generations", (int32_t)t_actuator.generation);
    sh_puts("px4-style");
    sh_put_kx("crc", crc);
    sh_put_kv("motor0", (uint32_t)motors[0]);
    sh_putc('\n');
    if (crc != EXPECTED_CRC)
        px4_report_error("crc", (int32_t)crc);
    return 0;
}
