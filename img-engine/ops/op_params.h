/* op_params — parameter validation from an operation's declaration. */
#ifndef IMG_OP_PARAMS_H
#define IMG_OP_PARAMS_H

#include "op.h"

/* raw: an object of parameter name -> value, each a string (from a form or
 * query) or, for OP_PARAM_INT, an integer (from a message). Returns a new
 * object (caller owns) with every declared parameter present in raw converted
 * to its type under its canonical name, plus the defaults of those absent;
 * NULL with IMG_E_INVALID_PARAMETER and a message naming the parameter for an
 * unknown name, a value of the wrong type, out of range or not a choice, or
 * a parameter given twice (by name and alias). */
json_t *op_params_validate(const op_def_t *op, const json_t *raw);

/* Convenience for ops: the integer / string value of a validated param, or dflt. */
int op_param_int(const json_t *params, const char *name, int dflt);
const char *op_param_str(const json_t *params, const char *name, const char *dflt);

#endif
