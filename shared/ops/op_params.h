/* op_params — parameter validation from an operation's declaration.
 *
 * Text (from a form field or a query parameter) is strict: an integer is
 * digits only (no sign, blank, decimal point or unit: "100px", "1.5", " 7",
 * "+3" and "" are refused), a number is digits with at most one decimal
 * point ("0.5", "12"), a choice matches exactly (case-sensitive), steps are a
 * JSON array. Numbers from a message may be JSON numbers. Values too long to
 * fit are out of range. Messages name the parameter as the client spelled it
 * and say what is allowed.
 */
#ifndef IMG_OP_PARAMS_H
#define IMG_OP_PARAMS_H

#include "op.h"

/* raw: an object of parameter name -> value. Returns a new object (caller
 * owns) holding every declared parameter present in raw, converted to its
 * type under its canonical name, plus the defaults of those absent; NULL
 * with IMG_E_INVALID_PARAMETER and a message naming the parameter for an
 * unknown name, a value of the wrong type or out of range (a size in pixels
 * also above cfg->max_output_dim), not a choice, a required parameter
 * missing, or a parameter given twice (by name and alias). */
json_t *op_params_validate(const op_def_t *op, const json_t *raw, const img_config_t *cfg);

/* The value of a validated parameter, or dflt when absent. */
int op_param_int(const json_t *params, const char *name, int dflt);
double op_param_number(const json_t *params, const char *name, double dflt);
const char *op_param_str(const json_t *params, const char *name, const char *dflt);

#endif
