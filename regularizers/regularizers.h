/* regularizers — the image priors of feature visualization.
 *
 * Owns: L2 and decay, Gaussian blur (direct and FFTW), clipping, total
 * variation, and the transforms (jitter, scale, rotate, pad) with their exact
 * adjoints.
 * Knows nothing about: the network.
 *
 * This header is the whole contract of regularizers/.
 */
#ifndef SYNTH_REGULARIZERS_H
#define SYNTH_REGULARIZERS_H

#include "net/net.h"

#endif
