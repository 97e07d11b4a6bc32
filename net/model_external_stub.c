/* Stand-in for net_model_open's hook until the ONNX importer lands (it
 * replaces this file with the real model_open_external, see graph.h). */
#include "net/graph.h"

status model_open_external(const char *spec, net_model **out)
{
    *out = NULL;
    return error_set(spec, "ONNX import is not available yet (only --model default works)");
}
