/* Internal helpers over type descriptors shared by the codec modules. */
#ifndef PARLEY_LIB_TYPE_H
#define PARLEY_LIB_TYPE_H

#include <stdbool.h>
#include <stdint.h>

#include "parley/type.h"

#endif
