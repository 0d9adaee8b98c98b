/* 物资调配 panel (to be written). */
(function (SafeMap) {
  "use strict";
  SafeMap.registerPanel("allocation", function (container) { container.textContent = "物资调配"; });
})(window.SafeMap);
