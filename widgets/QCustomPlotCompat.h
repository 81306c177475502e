#pragma once

// Includes qcustomplot.h in a target that defines QT_NO_KEYWORDS. The header
// spells `signals:` and `foreach`, which that define removes, so they are
// mapped to their Q_ forms for the length of the include only.

#ifndef QCUSTOMPLOT_USE_LIBRARY
#define QCUSTOMPLOT_USE_LIBRARY
#endif

#if defined(QT_NO_KEYWORDS)
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef emit
#undef foreach
#else
#include <qcustomplot.h>
#endif
