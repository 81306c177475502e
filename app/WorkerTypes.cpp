#include "WorkerTypes.h"

#include <QMetaType>

void registerWorkerTypes() {
    static const bool registered = [] {
        qRegisterMetaType<PredictRequest>();
        qRegisterMetaType<PredictResult>();
        qRegisterMetaType<AttributionRequest>();
        qRegisterMetaType<AttributionResult>();
        qRegisterMetaType<RefineRequest>();
        qRegisterMetaType<RefineResult>();
        qRegisterMetaType<CurveRequest>();
        qRegisterMetaType<CurveResult>();
        qRegisterMetaType<WeightOp>();
        qRegisterMetaType<WeightOpResult>();
        qRegisterMetaType<ModelLoadResult>();
        qRegisterMetaType<QVector<EditRow>>();
        qRegisterMetaType<QVector<NeuronScale>>();
        qRegisterMetaType<QVector<WeightOp>>();
        return true;
    }();
    Q_UNUSED(registered);
}
