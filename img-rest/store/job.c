#include "job.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const s_status_names[] = {"queued", "processing", "complete", "failed"};

const char *job_status_name(job_status_t s)
{
    return (s >= JOB_QUEUED && s <= JOB_FAILED) ? s_status_names[s] : "unknown";
}

int job_status_parse(const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, s_status_names[i]) == 0)
            return i;
    return -1;
}

void job_clear(job_t *job)
{
    json_decref(job->params);
    json_decref(job->input);
    json_decref(job->result);
    json_decref(job->callback);
    memset(job, 0, sizeof *job);
    job->progress = -1;
}

int64_t job_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void job_format_time(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
}

static json_t *s_time_or_null(int64_t ms)
{
    char text[32];
    if (ms <= 0)
        return json_null();
    job_format_time(ms, text);
    return json_string(text);
}

json_t *job_to_json(const job_t *job)
{
    char url[128];
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(job->id));
    json_object_set_new(o, "guid", json_string(job->id));
    json_object_set_new(o, "operation", json_string(job->operation));
    json_object_set_new(o, "status", json_string(job_status_name(job->status)));
    snprintf(url, sizeof url, "/%s/status/%s", job->operation, job->id);
    json_object_set_new(o, "status_url", json_string(url));
    snprintf(url, sizeof url, "/%s/%s", job->operation, job->id);
    json_object_set_new(o, "result_url", json_string(url));
    json_object_set_new(o, "created_at", s_time_or_null(job->created_at));
    json_object_set_new(o, "started_at", s_time_or_null(job->started_at));
    json_object_set_new(o, "finished_at", s_time_or_null(job->finished_at));
    json_object_set_new(o, "attempts", json_integer(job->attempts));
    json_object_set_new(o, "params", job->params ? json_incref(job->params) : json_object());
    if (job->input)
        json_object_set(o, "input", job->input);
    if (job->request_id[0])
        json_object_set_new(o, "request_id", json_string(job->request_id));
    if (job->status == JOB_PROCESSING && job->progress >= 0)
        json_object_set_new(o, "progress", json_integer(job->progress));
    if (job->status == JOB_COMPLETE && job->result)
        json_object_set(o, "result", job->result);
    if (job->callback)
        json_object_set(o, "callback", job->callback);
    if (job->status == JOB_FAILED)
        json_object_set_new(
            o, "error",
            json_pack("{s:s, s:s}", "code", job->error_code, "message", job->error_message));
    return o;
}
