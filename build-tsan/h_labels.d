build-tsan/h_labels.o: server/h_labels.c server/common.h \
 server/handlers.h server/http.h server/store.h server/crypto.h \
 server/order.h /usr/include/cjson/cJSON.h server/app.h server/config.h \
 server/audit.h server/json.h server/label.h server/mask.h server/log.h \
 server/view.h
server/common.h:
server/handlers.h:
server/http.h:
server/store.h:
server/crypto.h:
server/order.h:
/usr/include/cjson/cJSON.h:
server/app.h:
server/config.h:
server/audit.h:
server/json.h:
server/label.h:
server/mask.h:
server/log.h:
server/view.h:
